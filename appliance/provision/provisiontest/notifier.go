// Package provisiontest holds test doubles for the provision coordinator's
// dependencies, shared by the tests of every package that builds a
// coordinator.
package provisiontest

import (
	"context"
	"net/netip"
	"sync"
	"time"

	"github.com/pnpbox/pnpbox/appliance"
)

// LAN is the network Notifier treats as the box's LAN by default: phones
// there are reached from LANAddr on LANIface (198.18.0.0/15 is set aside
// for tests, RFC 2544).
var (
	LAN      = netip.MustParsePrefix("198.18.0.0/24")
	LANAddr  = netip.MustParseAddr("198.18.0.1")
	LANIface = "lan0"
)

// Notifier stands in for the SIP side (*pnp.Server) as a
// provision.Notifier: it records every NOTIFY and answers at once with
// the result set by SetResult (default: 200 OK). Phones in LAN are
// reachable; LocalAddrFor reports any other address as unreachable, so
// the coordinator sends them an empty URL. Safe for concurrent use.
type Notifier struct {
	mu     sync.Mutex
	calls  []Call
	result appliance.NotifyResult
	block  chan struct{}
}

// Call is one NOTIFY the coordinator sent.
type Call struct {
	Dialog appliance.Dialog
	CSeq   uint32
	URL    string
}

// SendNotify records the call and returns the configured outcome; while a
// channel set by Block is open, it waits for it to close first.
func (n *Notifier) SendNotify(ctx context.Context, d appliance.Dialog, cseq uint32, url string) appliance.NotifyOutcome {
	n.mu.Lock()
	n.calls = append(n.calls, Call{d, cseq, url})
	res, block := n.result, n.block
	n.mu.Unlock()
	if block != nil {
		<-block
	}
	if res == "" {
		res = appliance.NotifyOK
	}
	out := appliance.NotifyOutcome{Time: time.Now(), Result: res}
	if res == appliance.NotifyOK {
		out.Code = 200
	} else {
		out.Detail = "test"
	}
	return out
}

// LocalAddrFor answers LANAddr and LANIface for an address in LAN.
func (n *Notifier) LocalAddrFor(ip netip.Addr) (netip.Addr, string, bool) {
	if LAN.Contains(ip) {
		return LANAddr, LANIface, true
	}
	return netip.Addr{}, "", false
}

// FirstAddr is the box address for phones not seen yet (pre-staged ones
// config URLs), as *pnp.Server reports its first served address.
func (n *Notifier) FirstAddr() netip.Addr { return LANAddr }

// SetResult makes later NOTIFYs end with res ("" for 200 OK).
func (n *Notifier) SetResult(res appliance.NotifyResult) {
	n.mu.Lock()
	n.result = res
	n.mu.Unlock()
}

// Block makes later NOTIFYs wait until ch is closed (nil: answer at once),
// to hold a phone in flight.
func (n *Notifier) Block(ch chan struct{}) {
	n.mu.Lock()
	n.block = ch
	n.mu.Unlock()
}

// Calls returns the NOTIFYs sent so far, oldest first.
func (n *Notifier) Calls() []Call {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]Call(nil), n.calls...)
}

// Count is len(Calls()).
func (n *Notifier) Count() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.calls)
}
