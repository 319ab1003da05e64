package web

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"
	"time"

	"github.com/pnpbox/pnpbox/appliance"
)

//go:embed templates/*.html
var templates embed.FS

var pageTmpl = template.Must(template.New("status.html").Funcs(template.FuncMap{
	"ago": func(t *time.Time) string {
		if t == nil {
			return "never"
		}
		return time.Since(*t).Round(time.Second).String() + " ago"
	},
}).ParseFS(templates, "templates/status.html"))

type pageData struct {
	Status      statusJSON
	Phones      []phoneJSON
	Counts      []stateCount // in lifecycle order, not the map's
	UnicastOnly bool         // every served interface is loopback
}

type stateCount struct {
	State appliance.State
	N     int
}

// page renders the status page into a buffer first, so a template error
// never sends half a page.
func (s *server) page(w http.ResponseWriter, r *http.Request) {
	d := pageData{Status: s.statusData()}
	for _, st := range appliance.States {
		d.Counts = append(d.Counts, stateCount{st, d.Status.Counts[st]})
	}
	d.UnicastOnly = len(d.Status.Interfaces) > 0
	for _, i := range d.Status.Interfaces {
		d.UnicastOnly = d.UnicastOnly && i.UnicastOnly
	}
	for _, e := range s.Coord.Phones() {
		d.Phones = append(d.Phones, toJSON(e))
	}
	var buf bytes.Buffer
	if err := pageTmpl.Execute(&buf, d); err != nil {
		s.Log.Error("status page", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'")
	w.Write(buf.Bytes())
}
