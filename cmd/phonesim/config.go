package main

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"strings"

	"github.com/pnpbox/pnpbox/appliance"
)

// requiredPValues are the settings a provisioning file must carry for the
// phone to register and to find its config again after the reboot: account
// active, SIP user ID, password, SIP server and config server path
// (reference/grandstream-pnp.md §2.1, §2.2).
var requiredPValues = []string{"P271", "P35", "P34", "P47", "P237"}

var pValueName = regexp.MustCompile(`^P[0-9]+$`)

// gsConfig is what the phone reads from a gs_provision v1 (P-value) file.
type gsConfig struct {
	mac    string            // text of <mac>, if present
	hasMAC bool              // whether <mac> is present at all
	p      map[string]string // P-values under <config>, by name ("P237")
}

// parseConfig checks that b is well-formed XML with root gs_provision and
// collects <mac> and the P-values of <config> (GS-XMLGUIDE:
// gs_provision > mac, gs_provision > config > Pnnn).
func parseConfig(b []byte) (gsConfig, error) {
	c := gsConfig{p: make(map[string]string)}
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = true
	var (
		stack    []string
		text     strings.Builder
		rootSeen bool
		rootDone bool
	)
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return gsConfig{}, fmt.Errorf("XML not well-formed: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if rootDone {
				return gsConfig{}, fmt.Errorf("XML not well-formed: element <%s> after the root element", t.Name.Local)
			}
			if !rootSeen {
				if t.Name.Local != "gs_provision" {
					return gsConfig{}, fmt.Errorf("root element is <%s>, want <gs_provision>", t.Name.Local)
				}
				rootSeen = true
			}
			stack = append(stack, t.Name.Local)
			text.Reset()
		case xml.CharData:
			if len(stack) == 0 {
				if len(bytes.TrimSpace(t)) != 0 {
					return gsConfig{}, errors.New("XML not well-formed: text outside the root element")
				}
				continue
			}
			text.Write(t)
		case xml.EndElement:
			switch {
			case len(stack) == 2 && stack[1] == "mac":
				c.mac, c.hasMAC = strings.TrimSpace(text.String()), true
			case len(stack) == 3 && stack[1] == "config" && pValueName.MatchString(stack[2]):
				c.p[stack[2]] = text.String()
			}
			stack = stack[:len(stack)-1]
			text.Reset()
			if len(stack) == 0 {
				rootDone = true
			}
		}
	}
	if !rootSeen {
		return gsConfig{}, errors.New("XML not well-formed: no root element")
	}
	return c, nil
}

// check applies what the phone checks before it uses a file: a present <mac>
// must be its own (GS-XMLGUIDE: "the provision program will validate the mac
// element with the actual MAC address"), and the settings it needs are there.
func (c gsConfig) check(mac appliance.MAC) error {
	if c.hasMAC && c.mac != mac.Lower() {
		return fmt.Errorf("<mac> is %q, want %q", c.mac, mac.Lower())
	}
	var missing []string
	for _, name := range requiredPValues {
		if _, ok := c.p[name]; !ok {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("config lacks %s", strings.Join(missing, ", "))
	}
	return nil
}

// serverURL is where the phone fetches its config after the reboot: the
// scheme from P212 (config upgrade via), then P237 (config server path,
// host[:port]/path without a scheme), then the file name the GXP21xx asks for
// (reference/grandstream-pnp.md §1.4).
func (c gsConfig) serverURL(mac appliance.MAC) (string, error) {
	path := strings.TrimSpace(c.p["P237"])
	if path == "" {
		return "", errors.New("P237 (config server path) is empty")
	}
	if strings.Contains(path, "://") {
		return "", fmt.Errorf("P237 %q has a scheme; the phone takes the scheme from P212", path)
	}
	var scheme string
	switch v, ok := c.p["P212"]; strings.TrimSpace(v) {
	case "1":
		scheme = "http"
	case "2":
		scheme = "https"
	case "0", "3", "4":
		return "", fmt.Errorf("P212 is %s (TFTP/FTP/FTPS), which phonesim does not simulate", v)
	default:
		if !ok {
			// The phone would keep its factory default, which the box
			// cannot rely on; a config must say how to reach the box.
			return "", errors.New("config lacks P212 (config upgrade via)")
		}
		return "", fmt.Errorf("P212 is %q, want 1 (HTTP) or 2 (HTTPS)", v)
	}
	u := scheme + "://" + strings.TrimRight(path, "/") + "/cfg" + mac.Lower() + ".xml"
	if _, err := url.Parse(u); err != nil {
		return "", fmt.Errorf("P237 %q: %w", path, err)
	}
	return u, nil
}
