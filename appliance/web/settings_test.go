package web

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/pnpbox/pnpbox/appliance/provision"
	"github.com/pnpbox/pnpbox/appliance/provision/provisiontest"
	"github.com/pnpbox/pnpbox/appliance/store"
)

// settingsAPI serves the handler over a fresh coordinator and returns a
// function that sends one authenticated request and decodes the answer.
func settingsAPI(t *testing.T) (func(method, body string) (int, map[string]any), *provision.Coordinator) {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "phones.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	coord, err := provision.New(provision.Config{Store: st, Notifier: &provisiontest.Notifier{}})
	if err != nil {
		t.Fatal(err)
	}
	const pw = "settings-test-pw"
	if err := coord.SetAdminPassword(pw); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(New(Deps{Coord: coord, Box: func() Box { return Box{Started: time.Now()} }}))
	t.Cleanup(srv.Close)
	return func(method, body string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+"/api/settings", strings.NewReader(body))
		req.SetBasicAuth("admin", pw)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		var out map[string]any
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("%s /api/settings: %d %q: %v", method, res.StatusCode, b, err)
		}
		return res.StatusCode, out
	}, coord
}

// TestSettingsMergePatch: PATCH is RFC 7396 (null removes a key, one
// p_values entry included); PUT merges the fields given as it always did.
func TestSettingsMergePatch(t *testing.T) {
	api, _ := settingsAPI(t)
	if code, out := api("PUT", `{"sip_server":"pbx.example.net","p_values":{"P1":"a","P2":"b"},"timezone":"Europe/Berlin"}`); code != http.StatusOK {
		t.Fatalf("PUT: %d %v", code, out)
	}
	// PUT merges maps too: P3 joins, P1 and P2 stay.
	if code, out := api("PUT", `{"p_values":{"P3":"c"}}`); code != http.StatusOK {
		t.Fatalf("PUT: %d %v", code, out)
	}
	code, out := api("PATCH", `{"p_values":{"P1":null,"P2":"B"},"timezone":null,"language":"de"}`)
	if code != http.StatusOK {
		t.Fatalf("PATCH: %d %v", code, out)
	}
	want := map[string]any{"P2": "B", "P3": "c"}
	if d := cmp.Diff(want, out["p_values"]); d != "" {
		t.Errorf("p_values after PATCH (-want +got):\n%s", d)
	}
	if out["timezone"] != "" || out["language"] != "de" || out["sip_server"] != "pbx.example.net" {
		t.Errorf("after PATCH: timezone %q language %q sip_server %q; want \"\", de, pbx.example.net", out["timezone"], out["language"], out["sip_server"])
	}
	// What GET shows is what PATCH answered.
	if _, got := api("GET", ""); !cmp.Equal(out, got) {
		t.Errorf("GET after PATCH differs (-patch +get):\n%s", cmp.Diff(out, got))
	}
	// Removing the last key leaves no p_values at all.
	if _, out := api("PATCH", `{"p_values":{"P2":null,"P3":null}}`); out["p_values"] != nil {
		t.Errorf("p_values after removing every key = %v, want null", out["p_values"])
	}
	// null on a field resets it to its default.
	api("PUT", `{"provision_mode":"auto"}`)
	if _, out := api("PATCH", `{"provision_mode":null}`); out["provision_mode"] != "button" {
		t.Errorf("provision_mode after null = %v, want button", out["provision_mode"])
	}
}

func TestSettingsErrorsAndMasking(t *testing.T) {
	api, coord := settingsAPI(t)
	for _, tc := range []struct {
		method, body string
		field        string
	}{
		{"PUT", `{"no_such_setting":1}`, "settings"},
		{"PATCH", `{"no_such_setting":1}`, "settings"},
		{"PATCH", `[1]`, "settings"},
		{"PATCH", `{"pool_password_length":"long"}`, "settings"},
		{"PUT", `{"provision_mode":"sometimes"}`, "provision_mode"},
		{"PATCH", `{"p_values":{"X1":"v"}}`, "p_values"},
	} {
		code, out := api(tc.method, tc.body)
		if code != http.StatusBadRequest || out["field"] != tc.field || out["error"] == "" {
			t.Errorf("%s %s = %d %v, want 400 naming field %q", tc.method, tc.body, code, out, tc.field)
		}
	}

	// The secret is masked in every answer, and a client writing back the
	// mask keeps the stored secret; PATCH null removes it.
	for _, method := range []string{"PUT", "PATCH"} {
		if _, out := api(method, `{"phone_admin_password":"Secret-123"}`); out["phone_admin_password"] != masked {
			t.Errorf("%s answer shows phone_admin_password %v, want the mask", method, out["phone_admin_password"])
		}
		if _, out := api(method, `{"phone_admin_password":"********","language":"fr"}`); out["phone_admin_password"] != masked || out["language"] != "fr" {
			t.Errorf("%s echoing the mask: %v", method, out)
		}
		if got := coord.Settings().PhoneAdminPassword; got != "Secret-123" {
			t.Errorf("after %s echoing the mask the stored secret is %q, want Secret-123", method, got)
		}
	}
	if _, out := api("GET", ""); out["phone_admin_password"] != masked {
		t.Errorf("GET shows phone_admin_password %v, want the mask", out["phone_admin_password"])
	}
	if _, out := api("PATCH", `{"phone_admin_password":null}`); out["phone_admin_password"] != "" {
		t.Errorf("after PATCH null: phone_admin_password %v, want empty", out["phone_admin_password"])
	}
}
