// Package netif is the box's side of the LAN: it brings the interfaces it
// serves up, gives them addresses (DHCP with a fallback, or static),
// creates the voice VLAN, and watches links and addresses so the rest of
// the box hears about a pulled cable or a new lease at once, through
// netlink subscriptions rather than polling.
//
// A Manager owns the interfaces given to it. In ModeNone it only watches
// (laptops, tests); in ModeStatic and ModeDHCP it configures the primary
// interface and the VLAN, and leaves any other interface alone. Choose
// says which interfaces to serve when the caller names none (the IPv4
// default route's, read from /proc/net/route, or the first fitting one).
//
// The DHCPv4 client (RFC 2131) is nclient4 from insomniacslk/dhcp for the
// packets and this package for the state machine that nclient4 lacks:
// INIT → BOUND → RENEWING at T1 (unicast to the server) → REBINDING at T2
// (broadcast) → expiry; a NAK restarts; a link that comes back restarts
// with the old address as a hint. When no lease comes within the
// configured time, the static fallback address is used, or a link-local
// 169.254/16 address (RFC 3927) derived from the MAC and checked with ARP
// probes; DHCP keeps trying in the background and replaces it.
package netif
