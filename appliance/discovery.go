package appliance

import "net/netip"

// Discovery is what one announcement (a SIP PnP SUBSCRIBE) says about a
// phone: who it is, where it can be reached and the dialog a later NOTIFY
// must use. The SIP side (package pnp) produces it; the coordinator records
// it.
type Discovery struct {
	MAC       MAC
	Vendor    string
	Model     string
	Firmware  string
	UserAgent string
	// Contact is the IP:port of the phone's Contact URI when it is an IP
	// literal; Source is where the datagram came from.
	Contact   netip.AddrPort
	Source    netip.AddrPort
	Multicast bool
	Interface string
	// Dialog is what a later NOTIFY needs; its Target and LocalAddr are
	// filled in.
	Dialog Dialog
	// Txn identifies the announcement (for SIP: the SUBSCRIBE transaction's
	// Call-ID, CSeq and branch): a retransmission carries the same Txn.
	Txn string
}
