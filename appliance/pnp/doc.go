// Package pnp speaks the SIP side of Plug-and-Play provisioning: it answers
// phones' multicast or unicast SUBSCRIBE (Event: ua-profile) with 200 OK,
// reports what each SUBSCRIBE says about the phone, and sends the NOTIFY
// that carries the phone's config URL, retransmitted per RFC 3261 timers.
//
// Messages are parsed and built with sipgo's sip package, but the socket
// loop and the two transactions are our own: sipgo's server transactions
// pin a goroutine for ~32 s per request and log every parse failure with
// the raw message (reference/robustness.md §1.4), while a PnP responder
// must survive floods, filter before parsing and answer statelessly. The
// 200 OK is a pure function of the request (its To-tag is derived from the
// Call-ID), so a retransmitted SUBSCRIBE gets a byte-identical answer
// without any per-transaction state.
//
// On the hot path a SUBSCRIBE is not parsed by sipgo: a scanner of our own
// (scan.go, scan_uri.go) reads the few header fields the answer needs
// straight from the datagram's bytes, and scan_answer.go builds the same
// answer and Discovery from them. The scanner vouches only for datagrams
// sipgo would parse into the same values; anything else is parsed by
// sipgo and answered by Answer, as before. Tests and a fuzz target hold
// the two paths to the same bytes.
//
// The pure core is in message.go (Answer, BuildNotify); server.go is the
// I/O shell around one UDP socket; notify.go runs NOTIFY client
// transactions.
package pnp
