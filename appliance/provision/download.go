package provision

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
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
}

// File is a rendered config.
type File struct {
	Body        []byte
	ContentType string
}

// Download renders the config a phone asks for, if the token is valid and
// names a phone with an assignment, and the file name is one that phone
// fetches (reference §1.4: cfg<mac>, cfg<mac>.xml, cfg<model>.xml,
// cfg.xml, in any case). Anything else is ErrNotFound, without saying
// which part was wrong. Every download is recorded: the first after a
// NOTIFY moves the phone to downloaded, a later one to provisioned.
//
// Rendering runs outside the coordinator's lock, so phones fetching their
// configs do not hold up discoveries; it renders from copies (assignments
// and settings are replaced, never changed in place).
func (c *Coordinator) Download(r DownloadRequest) (File, error) {
	c.mu.Lock()
	m, ok := c.tokens[r.Token]
	p := c.phones[m]
	a, assigned := c.assignments[m]
	why := ""
	switch {
	case !ok || p == nil:
		why = "unknown token"
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
	in := c.profileInputLocked(p, a, r.Local)
	render, ctype := profile.Render, "application/xml"
	if c.settings.LegacyBinary && strings.EqualFold(r.File, "cfg"+m.Lower()) {
		// The legacy binary is served under the one name phones fetch it
		// by (reference §1.3/§1.4); the NOTIFY's cfg<MAC> gets it too.
		render, ctype = profile.RenderLegacy, "application/octet-stream"
	}
	c.mu.Unlock()

	body, err := render(in)

	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.log.Error("render config", "mac", m.String(), "err", err)
		c.eventLocked(m, appliance.EventError, "config could not be rendered: "+err.Error())
		return File{}, fmt.Errorf("render config for %s: %w", m, err)
	}
	if p = c.phones[m]; p == nil || p.Token != r.Token {
		return File{}, ErrNotFound // forgotten (unassigned, restored) while rendering
	}
	sum := sha256.Sum256(body)
	if c.overBudgetLocked(m, hex.EncodeToString(sum[:])) {
		return File{}, ErrNotFound
	}
	d := appliance.Download{Time: c.now().UTC(), IP: r.Remote, UserAgent: cleanUA(r.UserAgent), File: r.File, SHA256: hex.EncodeToString(sum[:])}
	p.Downloads++
	p.LastDownload = &d
	c.transitionLocked(p, TrigDownload)
	c.eventLocked(m, appliance.EventDownload, fmt.Sprintf("%q to %s (%s), sha256 %s", fileLabel(r.File), r.Remote, d.UserAgent, d.SHA256[:12]))
	c.log.Info("config downloaded", "mac", m.String(), "ip", r.Remote.String(), "file", fileLabel(r.File), "state", string(p.State))
	c.markSoon(m)
	return File{Body: body, ContentType: ctype}, nil
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
func cleanUA(s string) string {
	var b strings.Builder
	for _, r := range s {
		if unicode.IsPrint(r) && b.Len() < 128 {
			b.WriteRune(r)
		}
	}
	return b.String()
}
