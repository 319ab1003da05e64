package web

import (
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/pnpbox/pnpbox/appliance/tlscert"
)

// TLSCert is the box's certificate as the API sees it (*tlscert.Store).
type TLSCert interface {
	Info() tlscert.Info
	Fingerprint() string
	Replace(certPEM, keyPEM []byte) (tlscert.Info, error)
}

// tlsUpload is PUT /api/tls's body.
type tlsUpload struct {
	Certificate string `json:"certificate"` // PEM: the chain, leaf first
	Key         string `json:"key"`         // PEM: the unencrypted private key
}

// getTLS is GET /api/tls: the certificate in use.
func (s *server) getTLS(w http.ResponseWriter, r *http.Request) {
	if s.TLS == nil {
		writeError(w, http.StatusNotFound, "HTTPS is off (start pnpd with -https)")
		return
	}
	writeJSON(w, http.StatusOK, s.TLS.Info())
}

// putTLS is PUT /api/tls: the installer's own certificate and key replace
// the box's; new connections get them at once. The key is never echoed
// or logged.
func (s *server) putTLS(w http.ResponseWriter, r *http.Request) {
	if s.TLS == nil {
		writeError(w, http.StatusNotFound, "HTTPS is off (start pnpd with -https)")
		return
	}
	var in tlsUpload
	if err := decodeJSON(w, r, &in); err != nil {
		writeError(w, http.StatusBadRequest, "body: "+err.Error())
		return
	}
	info, err := s.TLS.Replace([]byte(in.Certificate), []byte(in.Key))
	switch {
	case errors.Is(err, tlscert.ErrBadPair):
		writeError(w, http.StatusBadRequest, err.Error())
		return
	case err != nil:
		s.fail(w, err)
		return
	}
	s.Log.Info("TLS certificate replaced", "ip", clientAddr(r).String(), "tls_sha256", info.SHA256, "subject", info.Subject)
	writeJSON(w, http.StatusOK, info)
}

// HTTPSOnly wraps the plain-HTTP handler: while on() is true, every
// request except the provisioning files (/p/…) and /healthz is redirected
// (308, method and body kept) to the same path on the HTTPS port. The
// provisioning files always stay on plain HTTP: a factory-default phone's
// first download may speak nothing else.
func HTTPSOnly(h http.Handler, on func() bool, httpsPort func() int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		port := httpsPort()
		if port == 0 || !on() || r.URL.Path == "/healthz" || strings.HasPrefix(r.URL.Path, "/p/") {
			h.ServeHTTP(w, r)
			return
		}
		host := r.Host
		if hh, _, err := net.SplitHostPort(host); err == nil {
			host = hh
		}
		if host == "" || strings.ContainsAny(host, "/\\@?#") {
			http.Error(w, "bad Host", http.StatusBadRequest)
			return
		}
		if strings.Contains(host, ":") { // IPv6 literal
			host = "[" + strings.Trim(host, "[]") + "]"
		}
		if port != 443 {
			host += ":" + strconv.Itoa(port)
		}
		u := *r.URL
		u.Scheme, u.Host = "https", host
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, u.String(), http.StatusPermanentRedirect)
	})
}
