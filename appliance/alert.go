package appliance

import "time"

// Alert is something that went wrong which the installer must see even if
// it has passed, such as a damaged database replaced at start. The LED
// shows error until every alert is acknowledged (POST /api/alerts/ack).
type Alert struct {
	Time    time.Time `json:"time"`
	Kind    string    `json:"kind"`
	Message string    `json:"message"`
}

// Alert kinds.
const (
	AlertDatabaseRecovered = "database_recovered"
)
