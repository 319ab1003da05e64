package provision

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/pnpbox/pnpbox/appliance"
)

// LinkWaiter tells whether an interface has link; board/netif's Manager
// implements it.
type LinkWaiter interface {
	// WaitUp blocks until the interface is up with link, or ctx is done.
	WaitUp(ctx context.Context, iface string) error
}

// PauseWhileDown wraps n so that a NOTIFY to a phone whose interface has
// lost its link waits for the link to return (for at most max) instead of
// going out into a dead wire and failing after Timer F. Once the link is
// back, it is sent from the box's address at that moment. A phone whose
// link stays away longer is recorded as failed with the reason, and is
// retried on its next SUBSCRIBE or press, as any failure is.
func PauseWhileDown(n Notifier, links LinkWaiter, max time.Duration) Notifier {
	return &pausing{Notifier: n, links: links, max: max}
}

type pausing struct {
	Notifier
	links LinkWaiter
	max   time.Duration
}

func (p *pausing) SendNotify(ctx context.Context, d appliance.Dialog, cseq uint32, url string) appliance.NotifyOutcome {
	if _, iface, ok := p.LocalAddrFor(d.RemoteAddr.Addr()); ok {
		wctx, cancel := context.WithTimeout(ctx, p.max)
		err := p.links.WaitUp(wctx, iface)
		cancel()
		if err != nil && ctx.Err() == nil {
			return appliance.NotifyOutcome{Time: time.Now(), URL: url, Result: appliance.NotifyError,
				Detail: fmt.Sprintf("no link on %s for %s: not sent", iface, p.max)}
		}
	}
	return p.Notifier.SendNotify(ctx, d, cseq, url)
}

// FirstAddr passes through to the wrapped Notifier, which the
// coordinator asks for config URLs of phones it has not seen.
func (p *pausing) FirstAddr() netip.Addr {
	if f, ok := p.Notifier.(FirstAddresser); ok {
		return f.FirstAddr()
	}
	return netip.Addr{}
}
