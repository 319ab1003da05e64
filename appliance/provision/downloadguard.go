package provision

import (
	"bytes"
	"fmt"

	"github.com/pnpbox/pnpbox/appliance"
)

// downloadGuard holds what the optional download guards of the security
// settings (token_bind_ip, download_budget) need between requests. Guarded
// by the coordinator's mu; in memory only, so a restart gives every phone
// its budget back (the guard slows a token thief, it is not a ledger).
type downloadGuard struct {
	// served counts downloads per phone of the config version (its
	// SHA-256) it last downloaded.
	served map[appliance.MAC]versionCount
}

type versionCount struct {
	sha256 string
	n      int
}

// guardRefusalLocked says why the security settings refuse r for phone p
// before anything is rendered ("" when they allow it). With token_bind_ip
// the token works only from the address the phone last announced itself
// from; a phone never seen (pre-staged) has no address yet and is not
// bound. A refusal is an event: someone holds a valid token.
func (c *Coordinator) guardRefusalLocked(p *appliance.Phone, r DownloadRequest) string {
	if !c.settings.TokenBindIP || !p.IP.IsValid() || r.Remote == p.IP {
		return ""
	}
	c.eventLocked(p.MAC, appliance.EventDownload, fmt.Sprintf("refused: the token was used from %s, the phone announced itself from %s (token_bind_ip)", r.Remote, p.IP))
	return "token used from another address (token_bind_ip)"
}

// overBudgetLocked counts one download of config version sha256 by phone m
// and reports whether it is beyond download_budget (0: no budget). A new
// version starts a new count.
func (c *Coordinator) overBudgetLocked(m appliance.MAC, sha256 string) bool {
	limit := c.settings.DownloadBudget
	if limit <= 0 {
		return false
	}
	if c.guard.served == nil {
		c.guard.served = map[appliance.MAC]versionCount{}
	}
	v := c.guard.served[m]
	if v.sha256 != sha256 {
		v = versionCount{sha256: sha256}
	}
	v.n++
	c.guard.served[m] = v
	if v.n > limit {
		if v.n == limit+1 { // one event per version, not one per request
			c.eventLocked(m, appliance.EventDownload, fmt.Sprintf("refused: config version %s downloaded %d times already (download_budget)", sha256[:12], limit))
		}
		return true
	}
	return false
}

// hideToken replaces the phone's provisioning token (in the config server
// path, P237) in an admin's preview: the preview is for reading, and a
// token shown there would be one more place it leaks from (config_url is
// where the admin gets it on purpose).
func hideToken(preview []byte, token string) []byte {
	if token == "" {
		return preview
	}
	return bytes.ReplaceAll(preview, []byte(token), []byte("********"))
}
