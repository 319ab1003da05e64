package web

import (
	"encoding/json"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pnpbox/pnpbox/appliance/panel"
	"github.com/pnpbox/pnpbox/appliance/provision"
	"github.com/pnpbox/pnpbox/appliance/provision/provisiontest"
	"github.com/pnpbox/pnpbox/appliance/store"
	"github.com/pnpbox/pnpbox/internal/apiclient"
)

// TestClaim: the password can be set without logging in only while claim
// mode is on, once per long press; the old password stops working at once.
func TestClaim(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "phones.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	coord, err := provision.New(provision.Config{Store: st, Notifier: &provisiontest.Notifier{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := coord.SetAdminPassword("old-password-1"); err != nil {
		t.Fatal(err)
	}
	claim := &panel.Claim{}
	srv := httptest.NewServer(New(Deps{Coord: coord, Claim: claim, Box: func() Box { return Box{Started: time.Now()} }}))
	defer srv.Close()

	do := func(method, path, pw, body string) (int, map[string]any) {
		t.Helper()
		res := apiclient.New(srv.URL, pw).Fetch(t, method, path, "", strings.NewReader(body))
		var out map[string]any
		json.Unmarshal(res.Body, &out)
		return res.Code, out
	}
	status := func(pw string) map[string]any {
		code, st := do("GET", "/api/status", pw, "")
		if code != 200 {
			t.Fatalf("status with %q: %d %v", pw, code, st)
		}
		return st
	}
	if st := status("old-password-1"); st["claim_mode"] != false || st["claim_seconds_left"] != 0.0 {
		t.Errorf("status before the press: claim_mode %v, %v s", st["claim_mode"], st["claim_seconds_left"])
	}
	if code, e := do("POST", "/api/claim", "", `{"password":"new-password-2"}`); code != 403 || !strings.Contains(e["error"].(string), "hold the box's button for 5 seconds") {
		t.Errorf("claim outside claim mode: %d %v", code, e)
	}

	claim.Open(panel.ClaimFor) // the long press
	if st := status("old-password-1"); st["claim_mode"] != true || st["claim_seconds_left"] != 120.0 {
		t.Errorf("status in claim mode: claim_mode %v, %v s", st["claim_mode"], st["claim_seconds_left"])
	}
	if code, e := do("POST", "/api/claim", "", `{"password":"short"}`); code != 400 || e["field"] != "password" {
		t.Errorf("short password: %d %v", code, e)
	}
	if code, e := do("POST", "/api/claim", "", `{"password":"new-password-2"}`); code != 200 {
		t.Fatalf("claim: %d %v", code, e)
	}
	if code, _ := do("GET", "/api/status", "old-password-1", ""); code != 401 {
		t.Errorf("old password after the claim: %d, want 401", code)
	}
	if st := status("new-password-2"); st["claim_mode"] != false {
		t.Error("claim mode still on after the password was set")
	}
	if code, _ := do("POST", "/api/claim", "", `{"password":"third-password-3"}`); code != 403 {
		t.Errorf("second claim from one press: %d, want 403", code)
	}
}
