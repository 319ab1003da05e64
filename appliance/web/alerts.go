package web

import "net/http"

// alerts is GET /api/alerts: the alerts not yet acknowledged.
func (s *server) alerts(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.Coord.Alerts())
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
