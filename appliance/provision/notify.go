package provision

import (
	"fmt"
	"net/netip"

	"github.com/pnpbox/pnpbox/appliance"
	"github.com/pnpbox/pnpbox/appliance/profile"
)

// canNotifyLocked is MayNotify for p with the coordinator's facts (the
// render check answered from p's last one when its inputs are unchanged).
func (c *Coordinator) canNotifyLocked(p *appliance.Phone) error {
	var ap *appliance.Assignment
	if a, ok := c.assignments[p.MAC]; ok {
		ap = &a
	}
	return mayNotify(p, ap, c.inflight[p.MAC], c.settings, func() error { return c.checkRenderLocked(p, *ap) })
}

// startNotifyLocked sends p its NOTIFY in the background; the caller holds
// c.mu and has checked canNotifyLocked.
func (c *Coordinator) startNotifyLocked(p *appliance.Phone, why string) {
	if err := c.canNotifyLocked(p); err != nil {
		c.eventLocked(p.MAC, appliance.EventNotify, "not sent: "+err.Error())
		return
	}
	p.Dialog.LocalCSeq++
	dlg := *p.Dialog
	local, _, ok := c.cfg.Notifier.LocalAddrFor(dlg.RemoteAddr.Addr())
	url := ""
	if ok {
		url = c.configURLLocked(p, local)
	}
	c.inflight[p.MAC] = true
	c.transitionLocked(p, TrigNotifySent)
	c.markSoon(p.MAC)
	c.log.Info("sending NOTIFY", "mac", p.MAC.String(), "ip", dlg.RemoteAddr.String(), "why", why)
	ctx := c.ctx
	c.notifWG.Add(1)
	go func() {
		defer c.notifWG.Done()
		out := c.cfg.Notifier.SendNotify(ctx, dlg, dlg.LocalCSeq, url)
		c.notifyDone(p.MAC, out)
	}()
}

func (c *Coordinator) notifyDone(m appliance.MAC, out appliance.NotifyOutcome) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.inflight, m)
	p := c.phones[m]
	if p == nil {
		return
	}
	if c.ctx.Err() != nil && out.Result == appliance.NotifyError {
		return // cut short by shutdown: the phone did nothing wrong
	}
	p.LastNotify = &out
	trig := TrigNotifyOK
	detail := fmt.Sprintf("answered %d", out.Code)
	if out.Result != appliance.NotifyOK {
		trig = TrigNotifyFailed
		detail = fmt.Sprintf("%s: %s", out.Result, out.Detail)
		c.log.Warn("NOTIFY failed", "mac", m.String(), "ip", p.IP.String(), "result", string(out.Result), "detail", out.Detail)
	} else {
		p.NotifiedAt = out.Time.UTC()
	}
	if _, assigned := c.assignments[m]; assigned {
		c.transitionLocked(p, trig)
	}
	c.eventLocked(m, appliance.EventNotify, detail)
	c.markSoon(m)
}

// configURLLocked is the URL the NOTIFY carries: the file form
// (…/p/<token>/cfg<MAC>) or the folder form (…/p/<token>/), as
// urlFormLocked chooses.
func (c *Coordinator) configURLLocked(p *appliance.Phone, local netip.Addr) string {
	ep := c.endpointLocked()
	base := fmt.Sprintf("%s://%s/p/%s/", ep.Scheme, netip.AddrPortFrom(local, uint16(ep.Port)), p.Token)
	if c.urlFormLocked(p) == appliance.URLFormFolder {
		return base
	}
	return base + "cfg" + p.MAC.String()
}

// urlFormLocked is p's NOTIFY URL form: its assignment's choice, else the
// site's, else its model family's default (profile.ChooseURLForm).
func (c *Coordinator) urlFormLocked(p *appliance.Phone) string {
	a := c.assignments[p.MAC]
	model := p.Model
	if model == "" {
		model = a.Model
	}
	return profile.ChooseURLForm(model, a.NotifyURLForm, c.settings.NotifyURLForm)
}
