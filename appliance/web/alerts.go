package web

import (
	"net/http"

	"github.com/pnpbox/pnpbox/appliance"
)

// alerts is GET /api/alerts: the alerts not yet acknowledged, [] when
// there are none (as in /api/status), never null.
func (s *server) alerts(w http.ResponseWriter, r *http.Request) {
	alerts := s.Coord.Alerts()
	if alerts == nil {
		alerts = []appliance.Alert{}
	}
	writeJSON(w, http.StatusOK, alerts)
}

// ackAlerts is POST /api/alerts/ack: the installer has seen the alerts;
// the LED stops showing error for them.
func (s *server) ackAlerts(w http.ResponseWriter, r *http.Request) {
	n, err := s.Coord.AckAlerts()
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"acknowledged": n})
}
