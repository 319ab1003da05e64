package appliance

import "time"

// Event is one line of the box's history: a state change, a NOTIFY
// outcome, a download, an error. Detail never holds a secret.
type Event struct {
	Seq    uint64    `json:"seq"`
	Time   time.Time `json:"time"`
	MAC    MAC       `json:"mac,omitzero"`
	Kind   string    `json:"kind"`
	Detail string    `json:"detail,omitempty"`
	// Count is how many times it happened, when more than once: the same
	// download repeated (same file, address, User-Agent and bytes) before
	// the event was written, at most the coordinator's flush delay (250 ms)
	// after Time, is this one event counted up, so a phone or script
	// fetching in a loop cannot push the rest of the history out of the
	// log. Absent (0) means once.
	Count int `json:"count,omitempty"`
}

// Event kinds.
const (
	EventDiscovered = "discovered"
	EventState      = "state"
	EventNotify     = "notify"
	EventDownload   = "download"
	EventAssigned   = "assigned"
	EventUnassigned = "unassigned"
	EventError      = "error"
	EventSettings   = "settings"
)

// More event kinds: the extension pool, CSV imports, alerts and backups.
const (
	EventPool    = "pool"    // pool extensions handed out, or the pool ran out
	EventImport  = "import"  // a CSV import was applied
	EventAlert   = "alert"   // an alert was raised or acknowledged
	EventRestore = "restore" // the database was replaced by a backup
	// EventIdentity: two phones' identities crossed: one took another's
	// address, or a download's User-Agent named another phone than the
	// token's.
	EventIdentity = "identity"
)
