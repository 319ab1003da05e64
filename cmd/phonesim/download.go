package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"
)

// maxConfigSize bounds a config download; real files are a few KiB.
const maxConfigSize = 1 << 20

// newHTTPClient gives each phone its own transport, dialling from the
// phone's address as a real phone's requests come from it. Keep-alive is off
// so a fleet of 500 holds no idle connections.
func newHTTPClient(ip netip.Addr, timeout time.Duration) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: ip.AsSlice()}, Timeout: timeout}
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			DialContext:        d.DialContext,
			DisableKeepAlives:  true,
			DisableCompression: true,
			// Factory-default Grandstreams do not validate the server's
			// certificate (P8463 "Validate Server Certificates" defaults to
			// 0, reference/grandstream-pnp.md §4.1 item 8).
			// With validation off, the pin (tlspin.go) still refuses a
			// certificate that changed after the first.
			TLSClientConfig:       &tls.Config{InsecureSkipVerify: true, VerifyConnection: (&certPin{}).verify}, //nolint:gosec // see above
			TLSHandshakeTimeout:   timeout,
			ResponseHeaderTimeout: timeout,
		},
	}
}

// firstDownload fetches the NOTIFY body URL. A file URL is fetched as it is;
// a folder URL (ending in /) is searched for the names a GXP21xx asks for, in
// its order (GS-GXP21-ADMIN, reference/grandstream-pnp.md §1.4, §1.5).
func (p *phone) firstDownload(ctx context.Context, raw string) ([]byte, gsConfig, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, gsConfig{}, fmt.Errorf("NOTIFY body %q is not an http(s) URL", raw)
	}
	candidates := []string{raw}
	if strings.HasSuffix(u.Path, "/") {
		mac := p.mac.Lower()
		candidates = candidates[:0]
		for _, name := range []string{"cfg" + mac, "cfg" + mac + ".xml", "cfg" + strings.ToLower(p.model) + ".xml", "cfg.xml"} {
			candidates = append(candidates, u.JoinPath(name).String())
		}
	}
	var body []byte
	for _, c := range candidates {
		if body, err = p.get(ctx, c); !errors.Is(err, errStatus) {
			break
		}
	}
	if err != nil {
		return nil, gsConfig{}, err
	}
	cfg, err := parseConfig(body)
	if err == nil {
		err = cfg.check(p.mac)
	}
	return body, cfg, err
}

var errStatus = errors.New("HTTP status not 200")

// get downloads one file the way the phone does.
func (p *phone) get(ctx context.Context, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	// The UA phones send, as FusionPBX and Wazo match it (§1.4).
	req.Header.Set("User-Agent", fmt.Sprintf("Grandstream Model HW %s SW %s DevId %s", p.model, p.firmware, p.mac.Lower()))
	resp, err := p.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %w: %s", u, errStatus, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxConfigSize+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	if len(body) > maxConfigSize {
		return nil, fmt.Errorf("GET %s: larger than %d bytes", u, maxConfigSize)
	}
	return body, nil
}
