package provision

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"unicode"

	"github.com/pnpbox/pnpbox/appliance"
	"github.com/pnpbox/pnpbox/appliance/profile"
)

// DownloadRequest is one GET under /p/<token>/.
type DownloadRequest struct {
	Token     string
	File      string         // the name after the token folder; "" for the folder itself
	Remote    netip.Addr     // who asked
	UserAgent string         //
	Local     netip.AddrPort // the box address the request arrived on (for P237)
	// IfNoneMatch is the request's If-None-Match header ("" when absent).
	IfNoneMatch string
}

// File is a rendered config. Body is shared by every request served from
// the same rendering: read it, never change it.
type File struct {
	Body        []byte
	ContentType string
	// ETag is the strong entity tag of Body (RFC 9110 §8.8.3), quoted.
	ETag string
	// NotModified is true when the request's If-None-Match names ETag: the
	// answer is 304 with no body (RFC 9110 §13.1.2).
	NotModified bool
}

// Download serves the config a phone asks for, if the token is valid and
// names a phone with an assignment, and the file name is one that phone
// fetches (reference §1.4: cfg<mac>, cfg<mac>.xml, cfg<model>.xml,
// cfg.xml, in any case). Anything else is ErrNotFound, without saying
// which part was wrong. Every download is recorded: the first after a
// NOTIFY moves the phone to downloaded, a later one to provisioned.
//
// A config is rendered once and served from memory until one of its
// inputs changes (configCache). Rendering runs outside the coordinator's
// lock, so phones fetching their configs do not hold up discoveries; it
// renders from copies (assignments and settings are replaced, never
// changed in place).
//
// A conditional request whose If-None-Match names the current ETag is
// answered 304 and still recorded as a download: the phone fetched its
// config URL and learned that the bytes it holds are the current ones,
// which is what a 200 with bytes it already has tells it too (Grandstream
// firmware compares them and skips flashing). The vendor's guide knows
// only plain GETs; the ETag serves tools and caches that revalidate.
func (c *Coordinator) Download(r DownloadRequest) (File, error) {
	c.mu.Lock()
	m, ok := c.tokens[r.Token]
	p := c.phones[m]
	a, assigned := c.assignments[m]
	why := ""
	switch {
	// The map finds the phone by a keyed hash of the token (its timing says
	// nothing about how much of a guess was right); the comparison that
	// decides is constant-time all the same (crypto/subtle).
	case !ok || p == nil || subtle.ConstantTimeCompare([]byte(p.Token), []byte(r.Token)) != 1:
		why = "unknown token"
	case c.userAgentMismatchLocked(m, r): // identity.go
		why = "User-Agent names another phone"
	case !assigned:
		why = "no assignment"
	case appliance.MatchMAC(c.settings.DenyMACs, m):
		why = "phone denied (deny_macs)"
	case !fileMatches(strings.ToLower(r.File), p, a):
		why = "file name not served to this phone"
	default:
		why = c.guardRefusalLocked(p, r)
	}
	if why != "" {
		c.mu.Unlock()
		// The client learns nothing (one 404 for every case); the log says
		// which, without the token.
		args := []any{"ip", r.Remote.String(), "file", cleanUA(r.File), "why", why}
		if ok {
			args = append(args, "mac", m.String())
		}
		c.log.Debug("provisioning file not served", args...)
		return File{}, ErrNotFound
	}
	legacy := c.settings.LegacyBinary && strings.EqualFold(r.File, "cfg"+m.Lower())
	key := c.renderKeyLocked(p, r.Local, legacy)
	f := c.configs.get(m, key)
	if f == nil {
		in := c.profileInputLocked(p, a, r.Local)
		c.mu.Unlock()
		var err error
		f, err = renderConfig(in, legacy)
		c.mu.Lock()
		if err != nil {
			c.log.Error("render config", "mac", m.String(), "err", err)
			c.eventLocked(m, appliance.EventError, "config could not be rendered: "+err.Error())
			c.mu.Unlock()
			return File{}, fmt.Errorf("render config for %s: %w", m, err)
		}
		if p = c.phones[m]; p == nil || p.Token != r.Token {
			c.mu.Unlock()
			return File{}, ErrNotFound // forgotten (unassigned, restored) while rendering
		}
		if c.renderKeyLocked(p, r.Local, legacy) == key {
			f.key = key
			c.configs.put(m, f)
		} // else an input changed while rendering: served once, not kept
	}
	if c.overBudgetLocked(m, f.sum) { // download_budget (downloadguard.go)
		c.mu.Unlock()
		return File{}, ErrNotFound
	}
	notModified := r.IfNoneMatch != "" && etagMatches(r.IfNoneMatch, f.etag)
	c.recordDownloadLocked(p, r, f.sum, notModified)
	c.mu.Unlock()
	out := File{ContentType: f.ctype, ETag: f.etag, NotModified: notModified}
	if !notModified {
		out.Body = f.body
	}
	return out, nil
}

// recordDownloadLocked counts one download of p's config (sum is its hex
// SHA-256) and queues its event for the next flush; the caller holds c.mu.
// It is on every request's path: constant time, a few small allocations,
// no formatting through fmt, and an Info log line only when the phone
// changes state (the event log has every download).
func (c *Coordinator) recordDownloadLocked(p *appliance.Phone, r DownloadRequest, sum string, notModified bool) {
	now := c.now().UTC()
	ua := cleanUA(r.UserAgent)
	if l := p.LastDownload; l != nil && l.UserAgent == ua {
		ua = l.UserAgent // share the string a phone sends every time
	}
	p.Downloads++
	// A new record, never changed in place: Entry copies hand the pointer out.
	p.LastDownload = &appliance.Download{Time: now, IP: r.Remote, UserAgent: ua, File: r.File, SHA256: sum}
	was := p.State
	c.transitionLocked(p, TrigDownload)
	c.detailBuf = appendDownloadDetail(c.detailBuf[:0], r.File, r.Remote, ua, sum, notModified)
	c.downloadEventLocked(now, p.MAC, c.detailBuf)
	if p.State != was {
		c.log.Info("config downloaded", "mac", p.MAC.String(), "ip", r.Remote.String(), "file", fileLabel(r.File), "state", string(p.State))
	} else if c.log.Enabled(context.Background(), slog.LevelDebug) {
		c.log.Debug("config downloaded", "mac", p.MAC.String(), "ip", r.Remote.String(), "file", fileLabel(r.File), "state", string(p.State))
	}
	c.markSoon(p.MAC)
}

// appendDownloadDetail appends the download event's text to b:
// "cfg….xml" to 198.18.0.100 (Grandstream GXP2140 1.0.11.23), sha256 0123456789ab
// with ", not modified" after a 304.
func appendDownloadDetail(b []byte, file string, ip netip.Addr, ua, sum string, notModified bool) []byte {
	b = strconv.AppendQuote(b, fileLabel(file))
	b = append(b, " to "...)
	b = ip.AppendTo(b)
	b = append(b, " ("...)
	b = append(b, ua...)
	b = append(b, "), sha256 "...)
	b = append(b, sum[:min(12, len(sum))]...)
	if notModified {
		b = append(b, ", not modified"...)
	}
	return b
}

// renderKey is everything a rendered config depends on beyond what gen
// counts (the assignments, the settings, phones' models): when the key a
// cached rendering was made with differs from the phone's current key,
// the rendering is stale.
type renderKey struct {
	gen      uint64
	token    string
	model    string
	firmware string
	admin    string         // the phone admin password the config sets
	local    netip.AddrPort // the box address the phone reached (P237)
	legacy   bool           // the legacy binary, not XML
}

func (c *Coordinator) renderKeyLocked(p *appliance.Phone, local netip.AddrPort, legacy bool) renderKey {
	admin := c.settings.PhoneAdminPassword
	if admin == "" {
		admin = p.AdminPassword
	}
	return renderKey{gen: c.gen, token: p.Token, model: p.Model, firmware: p.Firmware, admin: admin, local: local, legacy: legacy}
}

// rendered is one rendered config with what every download of it needs.
type rendered struct {
	key   renderKey
	body  []byte
	ctype string
	sum   string // hex SHA-256 of body, for the download record
	etag  string // quoted: the first 128 bits of sum
}

// renderConfig renders a config (the XML, or the legacy binary) and hashes
// it.
func renderConfig(in profile.Input, legacy bool) (*rendered, error) {
	render, ctype := profile.Render, "application/xml"
	if legacy {
		// The legacy binary is served under the one name phones fetch it
		// by (reference §1.3/§1.4); the NOTIFY's cfg<MAC> gets it too.
		render, ctype = profile.RenderLegacy, "application/octet-stream"
	}
	body, err := render(in)
	if err != nil {
		return nil, err
	}
	h := sha256.Sum256(body)
	sum := hex.EncodeToString(h[:])
	return &rendered{body: body, ctype: ctype, sum: sum, etag: `"` + sum[:32] + `"`}, nil
}

// etagMatches reports whether an If-None-Match header names etag: "*", or
// a comma-separated list with etag in it (weak comparison, RFC 9110
// §13.1.2).
func etagMatches(header, etag string) bool {
	for t := range strings.SplitSeq(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}

// configCacheBytes bounds the rendered configs kept in memory: about
// 2,000 phones' worth, more than a floor of phones booting at once. A box
// with more phones renders again for those that come later.
const configCacheBytes = 8 << 20

// configCache holds the latest rendering per phone and kind (XML, legacy
// binary). An entry is valid while its renderKey equals the phone's
// current one, so nothing has to remember to invalidate it: a change of
// assignment, settings, model, firmware, token, admin password or box
// address makes the next download render again. The coordinator's lock
// guards it.
type configCache struct {
	m     map[configSlot]*rendered
	bytes int
}

type configSlot struct {
	mac    appliance.MAC
	legacy bool
}

// get returns m's rendering for key, or nil.
func (cc *configCache) get(m appliance.MAC, key renderKey) *rendered {
	if f := cc.m[configSlot{m, key.legacy}]; f != nil && f.key == key {
		return f
	}
	return nil
}

// put keeps f as m's rendering of its kind, dropping others (in no
// particular order, so in constant time) while over configCacheBytes.
func (cc *configCache) put(m appliance.MAC, f *rendered) {
	if cc.m == nil {
		cc.m = map[configSlot]*rendered{}
	}
	slot := configSlot{m, f.key.legacy}
	if old := cc.m[slot]; old != nil {
		cc.bytes -= len(old.body)
	}
	cc.m[slot] = f
	cc.bytes += len(f.body)
	for s, g := range cc.m {
		if cc.bytes <= configCacheBytes {
			break
		}
		if s != slot {
			cc.bytes -= len(g.body)
			delete(cc.m, s)
		}
	}
}

// forget drops m's renderings (the phone is gone).
func (cc *configCache) forget(m appliance.MAC) {
	for _, legacy := range []bool{false, true} {
		if f := cc.m[configSlot{m, legacy}]; f != nil {
			cc.bytes -= len(f.body)
			delete(cc.m, configSlot{m, legacy})
		}
	}
}

// profileInputLocked is what the renderer needs for p. local is the box
// address the phone reaches it on: the config server path (P237) points
// back there.
func (c *Coordinator) profileInputLocked(p *appliance.Phone, a appliance.Assignment, local netip.AddrPort) profile.Input {
	model := p.Model
	if model == "" {
		model = a.Model
	}
	admin := c.settings.PhoneAdminPassword
	if admin == "" {
		admin = p.AdminPassword
	}
	return profile.Input{
		MAC:              p.MAC,
		Model:            model,
		Assignment:       a,
		Site:             c.settings.PhoneSettings,
		ConfigServerPath: fmt.Sprintf("%s/p/%s", c.configServerLocked(local), p.Token),
		AdminPassword:    admin,
	}
}

// Preview renders m's config for the admin with every secret masked.
func (c *Coordinator) Preview(m appliance.MAC) ([]byte, error) {
	c.mu.Lock()
	p := c.phones[m]
	if p == nil {
		c.mu.Unlock()
		return nil, ErrNotFound
	}
	a, ok := c.assignments[m]
	if !ok {
		c.mu.Unlock()
		return nil, ErrNoAssignment
	}
	local := netip.AddrPortFrom(c.anyLocalAddrLocked(), uint16(c.cfg.HTTPPort))
	if p.IP.IsValid() {
		if l, _, ok := c.cfg.Notifier.LocalAddrFor(p.IP); ok {
			local = netip.AddrPortFrom(l, uint16(c.cfg.HTTPPort))
		}
	}
	in := c.profileInputLocked(p, a, local)
	token := p.Token
	c.mu.Unlock()
	body, err := profile.Render(in) // outside the lock, from copies
	if err != nil {
		return nil, err
	}
	return hideToken(profile.Mask(body), token), nil
}

// PhoneAdminPassword returns the web admin password m's config sets: the
// site's, else the phone's own generated one.
func (c *Coordinator) PhoneAdminPassword(m appliance.MAC) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.phones[m]
	if p == nil {
		return "", ErrNotFound
	}
	if c.settings.PhoneAdminPassword != "" {
		return c.settings.PhoneAdminPassword, nil
	}
	return p.AdminPassword, nil
}

func fileLabel(f string) string {
	if f == "" {
		return "(folder)"
	}
	return f
}

// fileMatches reports whether name (lower case) is a file phone p fetches.
func fileMatches(name string, p *appliance.Phone, a appliance.Assignment) bool {
	mac := p.MAC.Lower()
	switch name {
	case "", "cfg" + mac, "cfg" + mac + ".xml", "cfg.xml":
		return true
	}
	model := strings.ToLower(p.Model)
	if model == "" {
		model = strings.ToLower(a.Model)
	}
	if model != "" {
		return name == "cfg"+model+".xml"
	}
	// Model not known yet: accept any model-shaped name, but never another
	// MAC's file name.
	base, ok := strings.CutSuffix(strings.TrimPrefix(name, "cfg"), ".xml")
	if !ok || !strings.HasPrefix(name, "cfg") || len(base) < 2 || len(base) > 32 || isHex12(base) {
		return false
	}
	for _, r := range base {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

func isHex12(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return false
		}
	}
	return true
}

// cleanUA keeps a User-Agent printable and short: it is shown on pages.
// A short printable ASCII one (every phone's) is returned as it is.
func cleanUA(s string) string {
	clean := len(s) <= 128
	for i := 0; clean && i < len(s); i++ {
		clean = s[i] >= 0x20 && s[i] < 0x7f
	}
	if clean {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unicode.IsPrint(r) && b.Len() < 128 {
			b.WriteRune(r)
		}
	}
	return b.String()
}
