package web

import (
	"net/http"
	"strings"
	"testing"

	"github.com/pnpbox/pnpbox/appliance"
)

// Fault inputs from real installations, through the API as an installer
// sends them: each refused or accepted by the rule the renderer, the CSV
// import and the settings share.
func TestDoorInputs(t *testing.T) {
	b := newTestBox(t)
	var out map[string]any

	// A display name the config cannot carry: 400 naming the field, and
	// nothing stored (so no press can send it a NOTIFY).
	code := b.admin.Call(t, "PUT", "/api/phones/000B82000001/assignment",
		`{"extension":"201","password":"pw-201-secret","display_name":"Front\uffffDesk","model":"GXP2140"}`, &out)
	if code != http.StatusBadRequest || out["field"] != "display_name" {
		t.Errorf("display_name with U+FFFF: %d %v, want 400 on display_name", code, out)
	}
	if code := b.admin.Call(t, "GET", "/api/phones/000B82000001", "", &out); code != http.StatusNotFound {
		t.Errorf("refused assignment created the phone: %d %v", code, out)
	}

	// "sip:pbx.example.test" is the host with a URI scheme: accepted as
	// the host.
	if code := b.admin.Call(t, "PUT", "/api/settings", `{"sip_server":"sip:pbx.example.test"}`, &out); code != http.StatusOK || out["sip_server"] != "pbx.example.test" {
		t.Errorf("sip_server sip:pbx.example.test: %d %v, want 200 and the host", code, out["sip_server"])
	}
	// One p_values key removed, the others kept.
	b.admin.Call(t, "PUT", "/api/settings", `{"p_values":{"P30":"ntp.example.test","P64":"auto"}}`, &out)
	if code := b.admin.Call(t, "PATCH", "/api/settings", `{"p_values":{"P30":null}}`, &out); code != http.StatusOK {
		t.Fatalf("PATCH: %d %v", code, out)
	}
	if pv, _ := out["p_values"].(map[string]any); len(pv) != 1 || pv["P64"] != "auto" {
		t.Errorf("p_values after removing P30: %v, want only P64", out["p_values"])
	}

	// Two phones on extension 250: both 200, each answer warns; the
	// unchanged export re-imports as unchanged.
	for i, mac := range []string{"000B82000002", "000B82000003"} {
		var p map[string]any
		code := b.admin.Call(t, "PUT", "/api/phones/"+mac+"/assignment", `{"extension":"250","password":"pw-250-secret"}`, &p)
		w, _ := p["warnings"].([]any)
		if code != http.StatusOK || len(w) != i {
			t.Errorf("phone %d on 250: %d, warnings %v; want 200 and %d warnings", i+1, code, p["warnings"], i)
		}
		if i == 1 && (len(w) != 1 || !strings.Contains(w[0].(string), "extension 250 is also assigned to 000B82000002")) {
			t.Errorf("warning %v", w)
		}
	}
	export := b.admin.Fetch(t, "GET", "/api/assignments/export?passwords=1", "", nil)
	if export.Code != http.StatusOK {
		t.Fatalf("export: %d", export.Code)
	}
	res := b.admin.Fetch(t, "POST", "/api/assignments/import", "text/csv", strings.NewReader(string(export.Body)))
	if res.Code != http.StatusOK || !strings.Contains(string(res.Body), `"unchanged": 2`) && !strings.Contains(string(res.Body), `"unchanged":2`) {
		t.Errorf("re-import of the export: %d %s, want 200 with 2 unchanged", res.Code, res.Body)
	}
	if !strings.Contains(string(res.Body), "is also assigned to") {
		t.Errorf("re-import answer has no warning: %s", res.Body)
	}
}

// A phone whose address another phone took: the API shows which and
// why, and provisioning it is refused until it announces itself again.
func TestDisplacedPhoneShown(t *testing.T) {
	b := newTestBox(t)
	if code := b.admin.Call(t, "PUT", "/api/settings", `{"sip_server":"pbx.example.net"}`, nil); code != http.StatusOK {
		t.Fatalf("settings: %d", code)
	}
	b.announce("000B82F30001", "198.18.0.3")
	var p map[string]any
	b.admin.Call(t, "PUT", "/api/phones/000B82F30001/assignment", `{"extension":"201","password":"pw-201-secret"}`, &p)
	b.announce("000B82F30002", "198.18.0.3")
	b.waitFor("A displaced", func() bool {
		e, err := b.coord.Phone(appliance.MAC{0x00, 0x0b, 0x82, 0xf3, 0x00, 0x01})
		return err == nil && e.Phone.Displaced != nil
	})
	b.admin.Call(t, "GET", "/api/phones/000B82F30001", "", &p)
	d, _ := p["displaced"].(map[string]any)
	if d["by"] != "000B82F30002" || d["addr"] != "198.18.0.3" || p["ip"] != nil {
		t.Errorf("phone A: displaced %v, ip %v; want by 000B82F30002 at 198.18.0.3 and no ip", p["displaced"], p["ip"])
	}
	var out map[string]any
	if code := b.admin.Call(t, "POST", "/api/phones/000B82F30001/provision", "", &out); code != http.StatusConflict ||
		!strings.Contains(out["error"].(string), "000B82F30002 announced itself from 198.18.0.3") {
		t.Errorf("provision A: %d %v, want 409 naming B and the address", code, out)
	}
}
