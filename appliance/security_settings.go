package appliance

// SecuritySettings are the site's transport and download-guard options,
// embedded in Settings so the JSON object stays flat. Every one is off by
// default, for the reasons given at each field (SECURITY.md has the whole
// argument).
type SecuritySettings struct {
	// HTTPSOnly makes plain HTTP answer only the provisioning files
	// (/p/…) and /healthz; every other request is redirected to HTTPS.
	// Off by default: the box's certificate is self-signed, so a browser
	// first shows a warning, and the first visit (claiming the box, the
	// fingerprint check) must work before anyone can decide to trust it.
	// Provisioning paths stay on plain HTTP whatever this says, because a
	// factory-default phone's first download may only speak HTTP.
	HTTPSOnly bool `json:"https_only"`
	// TokenBindIP serves a phone's config only to the address the phone
	// last announced itself from (its SUBSCRIBE). Off by default: a phone
	// that moves to another address (DHCP, a second VLAN) between its
	// SUBSCRIBE and its download would be refused until it announces
	// again.
	TokenBindIP bool `json:"token_bind_ip"`
	// DownloadBudget, when above 0, is how many times one config version
	// (same bytes) may be downloaded through a token before the token
	// answers 404 until the config changes or the phone is provisioned
	// again. 0 (the default) means no limit: phones re-check their config
	// on their own schedule and must keep getting it.
	DownloadBudget int `json:"download_budget"`
}

// normalize checks the security settings.
func (s SecuritySettings) normalize() (SecuritySettings, error) {
	if s.DownloadBudget < 0 || s.DownloadBudget > 1000 {
		return s, fieldErr("download_budget", "must be 0 (no limit) to 1000, have %d", s.DownloadBudget)
	}
	return s, nil
}
