package web

import (
	"net/http"
	"net/url"
	"strings"
)

// apiPrefix is the catch-all pattern under which every API route lives;
// it answers what no route does.
const apiPrefix = "/api/"

// methods are the methods allowedMethods probes for; a GET route also
// serves HEAD.
var methods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// noRoute answers an API request that no route took: 405 with an Allow
// header listing the methods path accepts (RFC 9110 §15.5.6) when some
// route serves the path with another method, else 404. Both are JSON
// errors like every other API answer.
func noRoute(muxes ...*http.ServeMux) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if allow := allowedMethods(r.URL, muxes...); len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			writeError(w, http.StatusMethodNotAllowed, r.Method+" is not allowed on "+r.URL.Path+"; use "+strings.Join(allow, ", "))
			return
		}
		writeError(w, http.StatusNotFound, "no such API endpoint: "+r.Method+" "+r.URL.Path)
	}
}

// allowedMethods lists the methods for which one of muxes has a route
// (other than the catch-all) matching u's path, in the order of methods.
func allowedMethods(u *url.URL, muxes ...*http.ServeMux) []string {
	var allow []string
	for _, m := range methods {
		probe := &http.Request{Method: m, URL: u}
		for _, mux := range muxes {
			if _, pattern := mux.Handler(probe); pattern != "" && pattern != apiPrefix {
				allow = append(allow, m)
				break
			}
		}
	}
	return allow
}
