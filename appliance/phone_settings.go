package appliance

// PhoneSettings are site-wide values rendered into every phone's config.
// (Filled in by the configs issue: NTP, time zone, admin password, …)
type PhoneSettings struct{}

func (s PhoneSettings) normalize() (PhoneSettings, error) { return s, nil }
