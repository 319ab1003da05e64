package appliance

import (
	"net/netip"
	"time"
)

// State is where a phone is on its way from first SUBSCRIBE to registered.
// See DESIGN.md "Phone states".
type State string

// The phone states. Pending = has an assignment and is not yet provisioned.
const (
	StateDiscovered  State = "discovered"  // seen, no assignment
	StateAssigned    State = "assigned"    // has an assignment, not yet told where its config is
	StateNotified    State = "notified"    // answered our NOTIFY with 2xx
	StateDownloaded  State = "downloaded"  // fetched its config once after the NOTIFY
	StateProvisioned State = "provisioned" // fetched it again (after its reboot)
	StateFailed      State = "failed"      // NOTIFY refused or unanswered; retried on next SUBSCRIBE or press
)

// States lists every state in lifecycle order, for counts and pages.
var States = []State{StateDiscovered, StateAssigned, StateNotified, StateDownloaded, StateProvisioned, StateFailed}

// Valid reports whether s is one of the defined states.
func (s State) Valid() bool {
	for _, v := range States {
		if s == v {
			return true
		}
	}
	return false
}

// Phone is everything the box knows about one phone, seen or pre-staged.
// A pre-staged phone has a zero FirstSeen and no address.
type Phone struct {
	MAC       MAC    `json:"mac"`
	Vendor    string `json:"vendor,omitempty"`
	Model     string `json:"model,omitempty"`
	Firmware  string `json:"firmware,omitempty"`
	UserAgent string `json:"user_agent,omitempty"`

	// IP and SIPPort are where the phone said it can be reached (its
	// Contact), Source where its last SUBSCRIBE actually came from.
	IP        netip.Addr     `json:"ip,omitzero"`
	SIPPort   int            `json:"sip_port,omitempty"`
	Source    netip.AddrPort `json:"source,omitzero"`
	Interface string         `json:"interface,omitempty"`
	Multicast bool           `json:"multicast,omitempty"` // last SUBSCRIBE came by multicast

	State     State     `json:"state"`
	FirstSeen time.Time `json:"first_seen,omitzero"`
	LastSeen  time.Time `json:"last_seen,omitzero"`

	// Token names the phone's secret folder /p/<token>/. Stable for the
	// phone's life on this box; never logged.
	Token string `json:"token"`
	// AdminPassword is the phone's own generated web admin password (P2),
	// used when the site sets none. A secret: shown only to the admin.
	AdminPassword string `json:"admin_password,omitempty"`

	Dialog       *Dialog        `json:"dialog,omitempty"`
	LastNotify   *NotifyOutcome `json:"notify,omitempty"`
	Downloads    int            `json:"downloads"`
	LastDownload *Download      `json:"last_download,omitempty"`
	// NotifiedAt is when the current provisioning round's NOTIFY was
	// answered; downloads after it count towards downloaded/provisioned.
	NotifiedAt time.Time `json:"notified_at,omitzero"`
	// Displaced is set when another phone announced itself from the
	// address this one was recorded at (a DHCP lease handed on, a bench
	// swap): the address, port and dialog are cleared, so that nothing
	// meant for this phone is sent to the other one, until this phone
	// announces itself again. nil otherwise.
	Displaced *Displacement `json:"displaced,omitempty"`
}

// Displacement says which phone took a phone's address, and when.
type Displacement struct {
	By   MAC        `json:"by"`   // the phone now announcing itself from Addr
	Addr netip.Addr `json:"addr"` // the address this phone lost
	Time time.Time  `json:"time"`
}

// Seen reports whether the phone has ever sent a SUBSCRIBE.
func (p *Phone) Seen() bool { return !p.FirstSeen.IsZero() }

// Dialog is what the box needs to send a NOTIFY inside the subscription a
// phone's SUBSCRIBE created (RFC 6665 §4.4.1; the PnP phones match on
// Call-ID and tags). Its fields carry RFC 3261 §12's names for the dialog
// state, seen from the box (the notifier); the JSON names are the stored
// format and stay as they were. Header values are kept as the phone sent
// them.
type Dialog struct {
	CallID string `json:"call_id"`
	// RemoteURI is the phone's URI with its tag, as its SUBSCRIBE's From
	// header had it: our NOTIFY's To.
	RemoteURI string `json:"from"`
	// LocalURI is the SUBSCRIBE's To without a tag: our NOTIFY's From, with
	// LocalTag added.
	LocalURI string `json:"to"`
	LocalTag string `json:"local_tag"`
	// RemoteTarget is the phone's Contact URI: our NOTIFY's Request-URI.
	RemoteTarget string `json:"contact"`
	// RemoteAddr is the IP:port the NOTIFY is sent to: the remote target's,
	// or where the SUBSCRIBE came from (pnp.NotifyTarget).
	RemoteAddr netip.AddrPort `json:"target"`
	LocalAddr  netip.Addr     `json:"local_addr"`
	Interface  string         `json:"interface,omitempty"`
	// LocalCSeq is the last CSeq the box used in this dialog (RFC 3261's
	// local sequence number).
	LocalCSeq uint32 `json:"notify_cseq"`
}

// NotifyResult is the outcome of one NOTIFY transaction.
type NotifyResult string

// The NOTIFY outcomes.
const (
	NotifyOK      NotifyResult = "ok"      // 2xx
	NotifyRefused NotifyResult = "refused" // 3xx-6xx
	NotifyTimeout NotifyResult = "timeout" // no final response before Timer F
	NotifyError   NotifyResult = "error"   // could not be sent at all
)

// NotifyOutcome records the last NOTIFY sent to a phone.
type NotifyOutcome struct {
	Time   time.Time    `json:"time"`
	Result NotifyResult `json:"result"`
	Code   int          `json:"code,omitempty"`
	Detail string       `json:"detail,omitempty"`
	URL    string       `json:"-"` // holds the token: never serialised
}

// Download records one config file served to a phone.
type Download struct {
	Time      time.Time  `json:"time"`
	IP        netip.Addr `json:"ip"`
	UserAgent string     `json:"user_agent,omitempty"`
	File      string     `json:"file"`
	SHA256    string     `json:"sha256"`
}
