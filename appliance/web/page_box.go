package web

import (
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/pnpbox/pnpbox/appliance"
	"github.com/pnpbox/pnpbox/appliance/store"
)

type boxData struct {
	S      statusJSON
	Uptime string
	Events []appliance.Event
}

// boxPage is the box panel: LED, alerts, network, backup, recent events.
func (p *pages) boxPage(w http.ResponseWriter, r *http.Request, s *session) {
	d := boxData{S: p.statusData()}
	d.Uptime = (time.Duration(d.S.UptimeS) * time.Second).String()
	evs, err := p.Coord.Events(store.EventFilter{Limit: 30})
	v := p.viewFor(s, "Box", "box")
	if err != nil {
		_, v.Error = p.pageError(err)
	}
	slices.Reverse(evs)
	d.Events = evs
	v.Data = d
	p.render(w, http.StatusOK, "box", v.tmplView)
}

func (p *pages) ackAlerts(w http.ResponseWriter, r *http.Request, s *session) {
	n, err := p.Coord.AckAlerts()
	msg := fmt.Sprintf("%d alert(s) acknowledged.", n)
	if err != nil {
		_, msg = p.pageError(err)
		msg = "Not acknowledged: " + msg
	}
	p.seeOther(w, r, s, "/box", msg)
}

// restoreUpload replaces the box's state with an uploaded backup (the
// coordinator checks it in full first: a bad file changes nothing).
func (p *pages) restoreUpload(w http.ResponseWriter, r *http.Request, s *session) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBackup+64<<10)
	f, _, err := r.FormFile("backup")
	if err != nil {
		p.seeOther(w, r, s, "/box", "Not restored: choose a backup file ("+uploadProblem(err)+").")
		return
	}
	defer f.Close()
	res, err := p.Coord.Restore(f)
	if err != nil {
		_, msg := p.pageError(err)
		p.seeOther(w, r, s, "/box", "Not restored: "+msg)
		return
	}
	p.Log.Info("page: backup restored", "ip", clientAddr(r).String(), "phones", res.Phones)
	p.seeOther(w, r, s, "/box", fmt.Sprintf("Restored: %d phones, %d assignments. The database it replaced is kept on the box as %s.", res.Phones, res.Assignments, res.Previous))
}
