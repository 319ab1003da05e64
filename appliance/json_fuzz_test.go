package appliance

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

// FuzzSettingsJSON: any JSON body a PUT /api/settings may carry decodes
// and normalizes without a panic, fails only with a *FieldError, and what
// Normalize accepts it accepts again unchanged.
func FuzzSettingsJSON(f *testing.F) {
	f.Add(`{"sip_server":"pbx.example.net","provision_mode":"auto","codecs":["PCMU","G722"],"extension_pool":"200-299"}`)
	f.Add(`{"config_protocol":"HTTPS","auto_provision":{"mode":"every_minutes","interval_minutes":60},"p_values":{"P30":"x"}}`)
	f.Add(`{"model_defaults":{"gxp2140":{"p_values":{"P1":"2"}}},"allow_macs":["000B82*"],"download_budget":-1}`)
	f.Add(`{"timezone":"` + string(make([]byte, 100)) + `"}`)
	f.Fuzz(func(t *testing.T, body string) {
		s := DefaultSettings()
		if json.Unmarshal([]byte(body), &s) != nil {
			return
		}
		n, err := s.Normalize()
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Normalize error %v is not a *FieldError", err)
			}
			return
		}
		again, err := n.Normalize()
		if err != nil || !reflect.DeepEqual(again, n) {
			t.Fatalf("Normalize not idempotent: %+v → %+v, %v", n, again, err)
		}
	})
}

// FuzzAssignmentJSON: any JSON body a PUT /api/phones/{mac}/assignment may
// carry decodes and normalizes without a panic; errors are *FieldError.
func FuzzAssignmentJSON(f *testing.F) {
	f.Add(`{"extension":"201","password":"s3cret-pw","display_name":"Reception","codecs":["PCMU"],"keys":[{"type":"blf","value":"202","label":"Bob"}]}`)
	f.Add(`{"extension":"201","accounts":[{"extension":"301","password":"x"}],"model":"GXP2160","p_values":{"P8":"1"}}`)
	f.Add(`{"keys":[{"type":"speed_dial"}],"sip_server":"[::1]:5060"}`)
	f.Fuzz(func(t *testing.T, body string) {
		var a Assignment
		if json.Unmarshal([]byte(body), &a) != nil {
			return
		}
		n, err := a.Normalize()
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Normalize error %v is not a *FieldError", err)
			}
			return
		}
		if _, err := n.Normalize(); err != nil {
			t.Fatalf("accepted %+v, then refused it: %v", n, err)
		}
	})
}
