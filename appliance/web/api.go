package web

import (
	"bufio"
	"encoding/json"
	"errors"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"syscall"
	"time"

	"github.com/pnpbox/pnpbox/appliance"
	"github.com/pnpbox/pnpbox/appliance/pnp"
	"github.com/pnpbox/pnpbox/appliance/provision"
)

// phoneJSON is a phone as the API shows it (DESIGN.md "HTTP"). Secrets
// are masked: an assignment's passwords become password_set.
type phoneJSON struct {
	MAC          string                   `json:"mac"`
	Vendor       string                   `json:"vendor"`
	Model        string                   `json:"model"`
	Firmware     string                   `json:"firmware"`
	IP           *netip.Addr              `json:"ip"`
	SIPPort      int                      `json:"sip_port,omitempty"`
	State        appliance.State          `json:"state"`
	FirstSeen    *time.Time               `json:"first_seen"`
	LastSeen     *time.Time               `json:"last_seen"`
	Assignment   *assignmentJSON          `json:"assignment"`
	ConfigURL    string                   `json:"config_url,omitempty"`
	UserAgent    string                   `json:"user_agent,omitempty"`
	Source       string                   `json:"source,omitempty"`
	Interface    string                   `json:"interface,omitempty"`
	Multicast    bool                     `json:"multicast"`
	NotifyBusy   bool                     `json:"notify_in_flight"`
	Notify       *appliance.NotifyOutcome `json:"notify"`
	Downloads    int                      `json:"downloads"`
	LastDownload *appliance.Download      `json:"last_download"`
	// Displaced says which phone took this phone's address (it is not
	// notified until it announces itself again); absent otherwise.
	Displaced *appliance.Displacement `json:"displaced,omitempty"`
}

type assignmentJSON struct {
	appliance.Assignment
	PasswordSet bool          `json:"password_set"`
	Accounts    []accountJSON `json:"accounts,omitempty"`
}

type accountJSON struct {
	appliance.Account
	PasswordSet bool `json:"password_set"`
}

func maskAssignment(a *appliance.Assignment) *assignmentJSON {
	if a == nil {
		return nil
	}
	out := &assignmentJSON{Assignment: *a, PasswordSet: a.Password != ""}
	out.Password = ""
	for _, acc := range a.Accounts {
		m := accountJSON{Account: acc, PasswordSet: acc.Password != ""}
		m.Password = ""
		out.Accounts = append(out.Accounts, m)
	}
	out.Assignment.Accounts = nil
	return out
}

func toJSON(e provision.Entry) phoneJSON {
	p := e.Phone
	j := phoneJSON{
		MAC: p.MAC.String(), Vendor: p.Vendor, Model: p.Model, Firmware: p.Firmware,
		SIPPort: p.SIPPort, State: p.State, Assignment: maskAssignment(e.Assignment),
		ConfigURL: e.ConfigURL, UserAgent: p.UserAgent, Interface: p.Interface, Multicast: p.Multicast,
		NotifyBusy: e.InFlight, Notify: p.LastNotify, Downloads: p.Downloads, LastDownload: p.LastDownload,
		Displaced: p.Displaced,
	}
	if p.IP.IsValid() {
		ip := p.IP
		j.IP = &ip
	}
	if p.Source.IsValid() {
		j.Source = p.Source.String()
	}
	if p.Seen() {
		fs, ls := p.FirstSeen, p.LastSeen
		j.FirstSeen, j.LastSeen = &fs, &ls
	}
	return j
}

func (s *server) macParam(w http.ResponseWriter, r *http.Request) (appliance.MAC, bool) {
	m, err := appliance.ParseMAC(r.PathValue("mac"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return m, false
	}
	return m, true
}

// phones answers with every phone, written a few hundred at a time: the
// same bytes writeJSON would give the whole list, without the whole list
// (10,000 phones are about 8 MB of JSON) ever being in memory. A phone
// forgotten meanwhile is left out; one seen meanwhile is not listed.
func (s *server) phones(w http.ResponseWriter, r *http.Request) {
	macs := s.Coord.MACs()
	startJSON(w, http.StatusOK)
	bw := bufio.NewWriterSize(w, 32<<10)
	n := 0
	for part := range slices.Chunk(macs, 256) {
		for _, e := range s.Coord.Entries(part) {
			b, err := json.MarshalIndent(toJSON(e), "  ", "  ")
			if err != nil {
				s.Log.Error("phone list", "err", err)
				return
			}
			if n == 0 {
				bw.WriteString("[\n  ")
			} else {
				bw.WriteString(",\n  ")
			}
			bw.Write(b)
			n++
		}
	}
	if n == 0 {
		bw.WriteString("[]\n")
	} else {
		bw.WriteString("\n]\n")
	}
	bw.Flush()
}

func (s *server) phone(w http.ResponseWriter, r *http.Request) {
	m, ok := s.macParam(w, r)
	if !ok {
		return
	}
	s.writePhone(w, m)
}

// writePhone answers with phone m as the API shows it.
func (s *server) writePhone(w http.ResponseWriter, m appliance.MAC) {
	e, err := s.Coord.Phone(m)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, toJSON(e))
}

func (s *server) putAssignment(w http.ResponseWriter, r *http.Request) {
	m, ok := s.macParam(w, r)
	if !ok {
		return
	}
	var a appliance.Assignment
	if err := decodeJSON(w, r, &a); err != nil {
		writeError(w, http.StatusBadRequest, "assignment: "+err.Error())
		return
	}
	if _, err := s.Coord.Assign(m, a); err != nil {
		s.fail(w, err)
		return
	}
	e, err := s.Coord.Phone(m)
	if err != nil {
		s.fail(w, err)
		return
	}
	// The phone, and what is allowed but worth a look (an extension other
	// phones hold too): the rule the CSV import's warnings follow.
	writeJSON(w, http.StatusOK, struct {
		phoneJSON
		Warnings []string `json:"warnings,omitempty"`
	}{toJSON(e), s.Coord.ExtensionWarnings(m)})
}

func (s *server) deleteAssignment(w http.ResponseWriter, r *http.Request) {
	m, ok := s.macParam(w, r)
	if !ok {
		return
	}
	if err := s.Coord.Unassign(m); err != nil {
		s.fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// forgetPhone removes the phone, its token and its assignment (its events
// stay): 204 once that is on disk; 409 while a NOTIFY to it is unanswered.
func (s *server) forgetPhone(w http.ResponseWriter, r *http.Request) {
	m, ok := s.macParam(w, r)
	if !ok {
		return
	}
	if err := s.Coord.Forget(m); err != nil {
		s.fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// provisionAll is the button. When pool extensions could not be stored
// the answer is an error (507 on a full disk) that still carries the
// summary: phones that had an assignment were sent their NOTIFY.
func (s *server) provisionAll(w http.ResponseWriter, r *http.Request) {
	sum, err := s.Coord.ProvisionAll()
	if err != nil {
		code, msg := s.classify(err)
		writeJSON(w, code, struct {
			Error string `json:"error"`
			provision.Summary
		}{msg, sum})
		return
	}
	writeJSON(w, http.StatusAccepted, sum)
}

func (s *server) provisionOne(w http.ResponseWriter, r *http.Request) {
	m, ok := s.macParam(w, r)
	if !ok {
		return
	}
	if err := s.Coord.Provision(m); err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "NOTIFY sent"})
}

// configPreview shows the config phone mac would download, secrets masked.
func (s *server) configPreview(w http.ResponseWriter, r *http.Request) {
	m, ok := s.macParam(w, r)
	if !ok {
		return
	}
	body, err := s.Coord.Preview(m)
	if err != nil {
		s.fail(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(body)
}

// phoneSecrets shows the admin the phone's own web admin password: the one
// place it is shown, never in lists or on the status page.
func (s *server) phoneSecrets(w http.ResponseWriter, r *http.Request) {
	m, ok := s.macParam(w, r)
	if !ok {
		return
	}
	pw, err := s.Coord.PhoneAdminPassword(m)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"phone_admin_password": pw})
}

func (s *server) events(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var f provision.EventFilter
	if v := q.Get("mac"); v != "" {
		m, err := appliance.ParseMAC(v)
		if err != nil {
			writeError(w, http.StatusBadRequest, "mac: "+err.Error())
			return
		}
		f.MAC = &m
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, "limit: not a count")
			return
		}
		f.Limit = n
	}
	if v := q.Get("since"); v != "" {
		// An event number (the seq of the last event seen: poll with it),
		// or a time (RFC 3339).
		if n, err := strconv.ParseUint(v, 10, 64); err == nil {
			f.Since = n
		} else if t, err := time.Parse(time.RFC3339, v); err == nil {
			f.After = t
		} else {
			writeError(w, http.StatusBadRequest, "since: neither an event number nor a time such as 2026-11-28T09:00:00Z")
			return
		}
	}
	if f.Limit == 0 || f.Limit > 1000 {
		f.Limit = 1000
	}
	evs, err := s.Coord.Events(f)
	if err != nil {
		s.fail(w, err)
		return
	}
	if evs == nil {
		evs = []appliance.Event{}
	}
	writeJSON(w, http.StatusOK, evs)
}

func (s *server) button(w http.ResponseWriter, r *http.Request) {
	if s.Press == nil {
		writeError(w, http.StatusNotFound, "this board's button cannot be pressed through the API")
		return
	}
	var req struct {
		HoldMS int `json:"hold_ms"`
	}
	if r.ContentLength != 0 {
		if err := decodeJSON(w, r, &req); err != nil {
			writeError(w, http.StatusBadRequest, "button: "+err.Error())
			return
		}
	}
	if req.HoldMS < 0 || req.HoldMS > 60000 {
		writeError(w, http.StatusBadRequest, "hold_ms: 0 to 60000")
		return
	}
	s.Press(time.Duration(req.HoldMS) * time.Millisecond)
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "pressed"})
}

// statusJSON is /api/status.
type statusJSON struct {
	Version         string                  `json:"version"`
	UptimeS         int64                   `json:"uptime_s"`
	Interface       string                  `json:"interface"`
	Addresses       []string                `json:"addresses"`
	MulticastJoined bool                    `json:"multicast_joined"`
	LED             string                  `json:"led"`
	Counts          map[appliance.State]int `json:"counts"`
	Phones          int                     `json:"phones"`
	Pending         int                     `json:"pending"`
	Busy            int                     `json:"busy"`
	ProvisionMode   string                  `json:"provision_mode"`
	Interfaces      []Iface                 `json:"interfaces"`
	SIP             pnp.Stats               `json:"sip"`
	Store           storeJSON               `json:"store"`
	Problem         string                  `json:"problem,omitempty"`
	TimeSynced      bool                    `json:"time_synced"`
	// Alerts are not yet acknowledged (POST /api/alerts/ack); while there
	// are any the LED shows error.
	Alerts []appliance.Alert         `json:"alerts"`
	Intake provision.AdmissionStatus `json:"intake"`
	Pool   *provision.PoolStatus     `json:"pool"` // null without a pool
	// TLSSHA256 is the hex SHA-256 of the box's TLS certificate ("" with
	// HTTPS off): what an installer compares before trusting it.
	TLSSHA256 string `json:"tls_sha256"`
}

type storeJSON struct {
	Commits uint64 `json:"commits"`
	Error   string `json:"error,omitempty"`
	Queue   int    `json:"discovery_queue"`
}

func (s *server) statusData() statusJSON {
	b := s.Box()
	st := s.Coord.Status()
	out := statusJSON{
		Version: b.Version, UptimeS: int64(s.Now().Sub(b.Started).Seconds()), Interface: b.Interface,
		Addresses: []string{}, MulticastJoined: b.MulticastJoined, LED: b.LED, Counts: st.Counts,
		Phones: st.Total, Pending: st.Pending, Busy: st.Busy, ProvisionMode: s.Coord.Settings().ProvisionMode,
		Interfaces: b.Interfaces, SIP: b.SIP, Store: storeJSON{Commits: st.Commits, Queue: st.Queue}, Problem: b.Problem,
		TimeSynced: b.TimeSynced,
	}
	for _, i := range b.Interfaces {
		for _, a := range i.Addresses {
			out.Addresses = append(out.Addresses, a.String())
		}
	}
	if out.Interfaces == nil {
		out.Interfaces = []Iface{}
	}
	if st.Storage != nil {
		out.Store.Error = st.Storage.Error()
	}
	out.Alerts, out.Intake = st.Alerts, st.Admission
	if out.Alerts == nil {
		out.Alerts = []appliance.Alert{}
	}
	if st.Pool.Range != "" {
		out.Pool = &st.Pool
	}
	if s.TLS != nil {
		out.TLSSHA256 = s.TLS.Fingerprint()
	}
	return out
}

// fail maps an error to a status code and a message that says what to do.
func (s *server) fail(w http.ResponseWriter, err error) {
	var fe *appliance.FieldError
	if errors.As(err, &fe) {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": fe.Error(), "field": fe.Field})
		return
	}
	code, msg := s.classify(err)
	writeError(w, code, msg)
}

// diskFull is what the API says when the data partition is full.
const diskFull = "the box's storage is full: nothing was changed; free space (delete old backups) and try again"

// classify maps an error (other than a field error) to a status code and
// a message.
func (s *server) classify(err error) (int, string) {
	switch {
	case errors.Is(err, provision.ErrNotFound):
		return http.StatusNotFound, "no such phone"
	case errors.Is(err, provision.ErrNoAssignment), errors.Is(err, provision.ErrNotSeen),
		errors.Is(err, provision.ErrBusy), errors.Is(err, provision.ErrUnsupported), errors.Is(err, provision.ErrDenied),
		errors.Is(err, provision.ErrNoSIPServer), errors.Is(err, provision.ErrDisplaced):
		return http.StatusConflict, err.Error()
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return http.StatusInsufficientStorage, diskFull
	case errors.Is(err, provision.ErrBadBackup):
		return http.StatusBadRequest, err.Error()
	case errors.Is(err, provision.ErrStorage), errors.Is(err, syscall.EROFS), errors.Is(err, syscall.EIO):
		s.Log.Error("api: storage", "err", err)
		return http.StatusInternalServerError, "could not save the change: " + err.Error()
	default:
		s.Log.Error("api", "err", err)
		return http.StatusInternalServerError, err.Error()
	}
}
