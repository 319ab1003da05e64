package appliance

// Health is what the box knows about its own condition, gathered from the
// parts that can fail. The zero value is a healthy box.
type Health struct {
	// LAN is the first thing wrong with the LAN in an installer's words
	// (no link, no address, multicast group not joined), "" when nothing.
	LAN string
	// Storage is the last failed write to the database, nil while writes
	// succeed.
	Storage error
	// Alerts are the alerts not yet acknowledged, oldest first.
	Alerts []Alert
}

// Fault is what is wrong with the box, as one answer for every place that
// shows it: the LED's error pattern, /healthz and the status page.
type Fault struct {
	// Problem says what is wrong in words an installer can act on; ""
	// when nothing is.
	Problem string
	// Serving reports whether the box still provisions phones. An
	// unacknowledged alert needs the installer's eyes (the LED shows
	// error) but stops nothing, so /healthz stays 200 for it; a LAN or
	// storage fault stops the box, and /healthz fails.
	Serving bool
}

// Fault returns what is wrong with the box, by one precedence: the LAN
// first (without it no phone is reached, and the rest cannot be seen
// from a phone), then storage (changes are acknowledged but not saved),
// then the newest unacknowledged alert.
func (h Health) Fault() Fault {
	switch {
	case h.LAN != "":
		return Fault{Problem: h.LAN}
	case h.Storage != nil:
		return Fault{Problem: "storage: " + h.Storage.Error()}
	case len(h.Alerts) > 0:
		return Fault{Problem: "alert: " + h.Alerts[len(h.Alerts)-1].Message, Serving: true}
	}
	return Fault{Serving: true}
}
