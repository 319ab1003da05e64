package web

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/pnpbox/pnpbox/appliance"
	"github.com/pnpbox/pnpbox/appliance/pnp"
	"github.com/pnpbox/pnpbox/appliance/provision"
)

// Box is the live state of the box outside the coordinator.
type Box struct {
	Version         string
	Started         time.Time
	Interface       string // primary LAN interface
	Interfaces      []Iface
	MulticastJoined bool
	LED             string
	SIP             pnp.Stats
	// Problem, when set, makes /healthz fail and says why.
	Problem string
	// TimeSynced: the clock has been set from NTP (the Pi has no
	// real-time clock; until then times on the page may be 1970's).
	TimeSynced bool
}

// Iface is one served interface.
type Iface struct {
	Name      string         `json:"name"`
	Addresses []netip.Prefix `json:"addresses"`
	Joined    bool           `json:"multicast_joined"`
	// UnicastOnly: loopback has no multicast; phones (simulated) send
	// their SUBSCRIBEs to the box's address instead.
	UnicastOnly bool `json:"unicast_only,omitempty"`
}

// Deps is what the handler needs.
type Deps struct {
	Coord *provision.Coordinator
	Box   func() Box
	// Press presses the simulated button; nil on real hardware, where the
	// API cannot press it.
	Press func(hold time.Duration)
	// Claim is claim mode (POST /api/claim); nil: never on.
	Claim Claimer
	Log   *slog.Logger
	Now   func() time.Time
	// TempDir is where backups are staged for download (default
	// os.TempDir(); a tmpfs on the box).
	TempDir string
	// TLS is the box's certificate (tls.go); nil when HTTPS is off.
	TLS TLSCert
}

// New returns the box's HTTP handler.
func New(d Deps) *Handler {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	s := &server{Deps: d, auth: newAuth(d.Coord, d.Now), files: newBudget(20, time.Minute)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /p/{token}/{file}", s.provisioningFile)
	mux.HandleFunc("GET /p/{token}/{$}", s.provisioningFile)
	mux.Handle("POST /api/claim", s.hostCheck(hostNames(), http.HandlerFunc(s.claim))) // no login: the button is the credential

	api := http.NewServeMux()
	api.HandleFunc("GET /api/status", s.statusWithClaim)
	api.HandleFunc("GET /api/phones", s.phones)
	api.HandleFunc("GET /api/phones/{mac}", s.phone)
	api.HandleFunc("DELETE /api/phones/{mac}", s.forgetPhone)
	api.HandleFunc("PUT /api/phones/{mac}/assignment", s.putAssignment)
	api.HandleFunc("DELETE /api/phones/{mac}/assignment", s.deleteAssignment)
	api.HandleFunc("POST /api/phones/{mac}/provision", s.provisionOne)
	api.HandleFunc("GET /api/phones/{mac}/config", s.configPreview)
	api.HandleFunc("GET /api/phones/{mac}/secrets", s.phoneSecrets)
	api.HandleFunc("POST /api/provision", s.provisionAll)
	api.HandleFunc("GET /api/settings", s.getSettings)
	api.HandleFunc("PUT /api/settings", s.putSettings)
	api.HandleFunc("PATCH /api/settings", s.patchSettings)
	api.HandleFunc("GET /api/events", s.events)
	api.HandleFunc("POST /api/assignments/import", s.importAssignments)
	api.HandleFunc("GET /api/assignments/export", s.exportAssignments)
	api.HandleFunc("GET /api/backup", s.backup)
	api.HandleFunc("POST /api/restore", s.restore)
	api.HandleFunc("GET /api/alerts", s.alerts)
	api.HandleFunc("POST /api/alerts/ack", s.ackAlerts)
	api.HandleFunc("POST /api/button", s.button)
	api.HandleFunc("GET /api/tls", s.getTLS)
	api.HandleFunc("PUT /api/tls", s.putTLS)
	api.HandleFunc(apiPrefix, noRoute(api, mux))
	mux.Handle(apiPrefix, s.auth.require(api))
	s.pageRoutes(mux) // the installer's page (page.go)

	// Browsers may not make state-changing cross-origin requests (CSRF);
	// GET and HEAD handlers change nothing.
	cop := http.NewCrossOriginProtection()
	return &Handler{Handler: securityHeaders(limitBodies(cop.Handler(mux))), s: s}
}

// NewServer wraps h in an http.Server with the timeouts a LAN appliance
// needs against slow or hostile clients.
func NewServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
	}
}

type server struct {
	Deps
	auth  *auth
	files *budget
}

// securityHeader is the header every answer carries (securityHeaders,
// and serveFileFast's answers).
var securityHeader = [...][2]string{
	{"X-Content-Type-Options", "nosniff"},
	{"X-Frame-Options", "DENY"},
	{"Referrer-Policy", "no-referrer"},
}

func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, kv := range securityHeader {
			w.Header().Set(kv[0], kv[1])
		}
		h.ServeHTTP(w, r)
	})
}

// healthz is 200 while the box provisions phones and 503 with the reason
// when it cannot; appliance.Health.Fault decides, as it does for the LED.
// A fault that stops nothing (an unacknowledged alert) is 200 with the
// fault as "attention".
func (s *server) healthz(w http.ResponseWriter, r *http.Request) {
	st := s.Coord.Status()
	f := appliance.Health{LAN: s.Box().Problem, Storage: st.Storage, Alerts: st.Alerts}.Fault()
	switch {
	case !f.Serving:
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unhealthy", "error": f.Problem})
	case f.Problem != "":
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "attention": f.Problem})
	default:
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	}
}

// startJSON writes the header of a JSON answer with status code.
func startJSON(w http.ResponseWriter, code int) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	startJSON(w, code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

// maxBody bounds request bodies (JSON and CSV).
const maxBody = 4 << 20

func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errors.New("request body too large")
		}
		return err
	}
	return nil
}
