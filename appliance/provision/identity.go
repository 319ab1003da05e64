package provision

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/pnpbox/pnpbox/appliance"
	"github.com/pnpbox/pnpbox/appliance/profile"
)

// Identity binding: what the box sends to an address and serves under a
// token must reach the phone it was meant for.
//
// Two phones cannot hold one IPv4 address on a LAN at once, so when a
// phone announces itself from an address another phone was recorded at
// (a DHCP lease handed on, a bench swap), the other phone has left it:
// its address, port and dialog are cleared and it is not notified until
// it announces itself again (MayNotify: ErrDisplaced). The address alone
// decides, not address and port: a NOTIFY to the old port of a reused
// address reaches the wrong host just the same.
//
// A config download whose User-Agent names a MAC (Grandstream: "… DevId
// 000b82f30002", profile.UserAgentMAC) other than the token's phone is
// refused (404, as for an unknown token) and not booked: the file
// carries the SIP password of the token's phone. A User-Agent without a
// MAC (older firmware, curl for manual provisioning) is served as before.
//
// Not done: checking the SUBSCRIBE's claimed MAC against the kernel's ARP
// (neighbour) table for its source address. A multicast SUBSCRIBE
// creates no neighbour entry, so the check could only run at NOTIFY
// time, would need the netlink neighbour table in the notifier (the
// board side), and the two rules above already cover the lease-handover
// and bench-swap cases the box meets; a host forging both the SUBSCRIBE
// and the User-Agent is outside what the box defends against on a LAN it
// is plugged into (docs/workflows.md).

// displaceLocked clears the address of every phone other than m recorded
// at addr, with an event and a log line for each. It looks only at the
// phones atAddr lists for addr, so a storm of new phones costs a map
// lookup each rather than a pass over every phone the box knows (with
// c.mu held, under which downloads wait).
func (c *Coordinator) displaceLocked(m appliance.MAC, addr netip.Addr, now time.Time) {
	held := c.atAddr[addr][:0]
	for _, om := range c.atAddr[addr] {
		q := c.phones[om]
		switch {
		case q == nil || q.IP != addr: // forgotten, or moved on since
			continue
		case om == m:
			held = append(held, om)
			continue
		}
		q.Displaced = &appliance.Displacement{By: m, Addr: addr, Time: now}
		q.IP, q.SIPPort, q.Dialog = netip.Addr{}, 0, nil
		c.eventLocked(om, appliance.EventIdentity, fmt.Sprintf("address %s taken by %s: not notified until it announces itself again", addr, m))
		c.log.Warn("phone displaced from its address", "mac", om.String(), "ip", addr.String(), "by", m.String())
		c.markSoon(om)
	}
	if len(held) == 0 {
		delete(c.atAddr, addr)
	} else {
		c.atAddr[addr] = held
	}
}

// noteAddrLocked records that phone m was given address addr, for
// displaceLocked. Every place a phone's IP is set calls it (discover,
// indexPhoneLocked); an entry that went stale (the phone moved
// or was forgotten) is dropped when its address is next taken.
func (c *Coordinator) noteAddrLocked(m appliance.MAC, addr netip.Addr) {
	if !addr.IsValid() {
		return
	}
	if c.atAddr == nil {
		c.atAddr = map[netip.Addr][]appliance.MAC{}
	}
	if ms := c.atAddr[addr]; !slices.Contains(ms, m) {
		c.atAddr[addr] = append(ms, m)
	}
}

// userAgentMismatchLocked reports whether r's User-Agent names a phone
// other than m, the token's phone; if so it records why.
func (c *Coordinator) userAgentMismatchLocked(m appliance.MAC, r DownloadRequest) bool {
	ua, ok := profile.UserAgentMAC(r.UserAgent)
	if !ok || ua == m {
		return false
	}
	c.eventLocked(m, appliance.EventIdentity, fmt.Sprintf("download refused: %s asked for this phone's config with a User-Agent naming %s", r.Remote, ua))
	c.log.Warn("config download refused: User-Agent names another phone", "mac", m.String(), "ip", r.Remote.String(), "user_agent_mac", ua.String())
	return true
}

// ErrDisplaced is MayNotify's reason for a phone whose address another
// phone has since announced itself from.
var ErrDisplaced = errors.New("another phone took this phone's address")
