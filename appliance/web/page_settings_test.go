package web

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/pnpbox/pnpbox/appliance"
)

// TestSettingsFormEverySetting: every setting of appliance.Settings has a
// field with an explanation, and the ones added last are saved.
func TestSettingsFormEverySetting(t *testing.T) {
	b := newPageBox(t, true)
	b.login()
	res, body := b.get("/settings")
	wantPage(t, "settings", res, body, 200)
	h := 3
	all := appliance.DefaultSettings()
	all.AutoProvision = appliance.AutoProvision{Mode: "hour_of_day", IntervalMinutes: 60, Hour: &h, DayOfWeek: &h}
	raw, _ := json.Marshal(all)
	var fields map[string]any
	json.Unmarshal(raw, &fields)
	for name, v := range fields {
		names := []string{name}
		if obj, ok := v.(map[string]any); ok && name == "auto_provision" {
			names = nil
			for sub := range obj {
				names = append(names, name+"."+sub)
			}
		}
		for _, n := range names {
			i := strings.Index(body, `name="`+n+`"`)
			if i < 0 {
				t.Errorf("the settings form has no field for %q", n)
				continue
			}
			if rest := body[i:]; !strings.Contains(rest[:strings.Index(rest, "</div>")], `<p class="hint">`) {
				t.Errorf("the field %q has no explanation", n)
			}
		}
	}

	form := url.Values{"provision_mode": {"button"}, "notify_url_form": {"auto"}, "unknown_phones": {"list"}, "keep_pnp": {"1"},
		"auto_provision.mode": {"hour_of_day"}, "auto_provision.hour": {"0"}, "auto_provision.day_of_week": {""},
		"p_values": {"P30=ntp.example.net\r\n P1362 = de\r\n"}, "model_defaults": {"gxp2160 P1=x\r\n"}}
	res, body = b.post("/settings", form)
	set := b.coord.Settings()
	if res.StatusCode != 303 || !set.KeepPnP || set.NotifyURLForm != "auto" || set.AutoProvision.Mode != "hour_of_day" ||
		set.AutoProvision.Hour == nil || *set.AutoProvision.Hour != 0 || set.AutoProvision.DayOfWeek != nil ||
		set.PValues["P30"] != "ntp.example.net" || set.PValues["P1362"] != " de" || set.ModelDefaults["GXP2160"].PValues["P1"] != "x" {
		t.Fatalf("saved: %d %+v\n%s", res.StatusCode, set, body)
	}
	res, body = b.get("/settings")
	wantPage(t, "after saving", res, body, 200, `name="keep_pnp" value="1" checked`, `name="auto_provision.hour" value="0"`,
		"P30=ntp.example.net", "GXP2160 P1=x", `<option value="auto" selected>`)
	form.Set("auto_provision.hour", "24")
	res, body = b.post("/settings", form)
	wantPage(t, "bad hour", res, body, 400, "must be 0-23, have 24")
	form.Set("auto_provision.hour", "")
	form.Set("p_values", "")
	form.Set("model_defaults", "GXP2160")
	res, body = b.post("/settings", form)
	wantPage(t, "bad model line", res, body, 400, "line 1: MODEL P1234=value")
	form.Del("keep_pnp")
	form.Set("model_defaults", "")
	b.post("/settings", form)
	if set := b.coord.Settings(); set.KeepPnP || set.PValues != nil || set.ModelDefaults != nil || set.AutoProvision.Hour != nil {
		t.Errorf("after clearing: %+v", set)
	}
}
