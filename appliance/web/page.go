package web

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"
	"time"
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
	Status statusJSON
	Phones []phoneJSON
}

// page renders the status page into a buffer first, so a template error
// never sends half a page.
func (s *server) page(w http.ResponseWriter, r *http.Request) {
	d := pageData{Status: s.statusData()}
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
