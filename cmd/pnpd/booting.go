package main

import "sync/atomic"

// bootLED decides the LED's "booting": from the first moment pnpd runs
// until the box first has an address and has joined the SIP multicast
// group. A LAN fault an installer must act on (no link, say) shows as
// error even then; after the first ready moment, booting never returns.
type bootLED struct {
	ready atomic.Bool
}

// booting reports whether the LED should say booting now; joined is
// whether the SIP socket has joined the group.
func (b *bootLED) booting(l *lan, joined bool) bool {
	if b.ready.Load() {
		return false
	}
	l.mu.Lock()
	read := len(l.states) > 0
	// Loopback has no multicast to join (phones on a laptop's loopback
	// send by unicast): an address is all it needs.
	loopback := read
	for _, s := range l.states {
		loopback = loopback && s.Loopback
	}
	l.mu.Unlock()
	joined = joined || loopback
	problem := l.problem()
	if read && problem == "" && joined {
		b.ready.Store(true)
		return false
	}
	// Not read yet, DHCP still asking, or an address but no group yet.
	return !read || l.acquiring() || problem == ""
}
