// Package provision is the coordinator: it owns the phones' states and
// moves them (DESIGN.md "Phone states"), decides when a phone is sent its
// NOTIFY (button, page, API or auto mode; failed phones again on their next
// SUBSCRIBE), serves config files to phones holding a valid token, and
// decides what is written to the store when.
//
// All state lives in memory, loaded from the store at start. Changes made
// through the API are written synchronously (a 2xx means fsynced);
// changes caused by network traffic (discoveries, last-seen, NOTIFY
// outcomes, downloads) are coalesced and flushed shortly after, in one
// transaction, so no packet rate can drive the commit rate.
//
// The files follow what the coordinator does: discover.go (SUBSCRIBEs in),
// admission.go (which phones are taken in), notify.go (when a NOTIFY may go
// out and its outcome), press.go ("provision all pending"), assign.go,
// pool.go, import.go and export.go (CSV), settings.go, download.go (config
// files served to phones), status.go (the LED and /api/status), alerts.go,
// journal.go (events and the write-behind flush), backup.go and
// credentials.go. policy.go holds the decisions as pure functions. One
// mutex guards all of it.
package provision
