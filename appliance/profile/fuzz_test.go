package profile

import (
	"bytes"
	"errors"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pnpbox/pnpbox/appliance"
)

// FuzzRender renders random assignments. Whatever the input, Render either
// refuses it with a *appliance.FieldError or returns well-formed XML that
// encoding/xml reads back to exactly the values the renderer meant to
// write, and the legacy file carries the same values. The seeds run as
// part of go test.
func FuzzRender(f *testing.F) {
	f.Add("201", "secret", "Front Desk", "pbx.example.com", "GXP2130", uint8(2), uint8(12), "blf", "202", "Bob", int8(3), "PCMU", "P1362", "en")
	f.Add("201", "p&<>\"'w", "Zoë «Ω» 𝄞", "10.0.0.1:5060", "gxp2140", uint8(3), uint8(3), "speed_dial", "*97#", "<b>&amp;", int8(0), "OPUS", "P8369", "\t&#x1;")
	f.Add("a.b-c_d!~*'()&=+$,;?/", "", "", "[::1]:5060", "GXP2160", uint8(5), uint8(42), "none", "", "", int8(6), "G726-32", "P99999", "]]>")
	f.Add("201", "", "", "", "", uint8(0), uint8(12), "call_return", "", "", int8(1), "", "P1", "")
	f.Add("201", "", "\uFFFE", "", "GXP2130", uint8(9), uint8(99), "forward", "\x00", "\r\n", int8(-1), "speex", "P012", "x")
	f.Fuzz(func(t *testing.T, ext, password, display, server, model string, accounts, keys uint8,
		keyType, keyValue, keyLabel string, keyAccount int8, codec, pname, pvalue string) {
		a := appliance.Assignment{
			Extension: ext, Password: password, DisplayName: display, SIPServer: server,
			PValues: map[string]string{pname: pvalue},
		}
		if codec != "" {
			a.Codecs = []string{codec}
		}
		for i := range int(accounts % 8) {
			a.Accounts = append(a.Accounts, appliance.Account{
				Extension: ext + strconv.Itoa(i), Password: password, DisplayName: display + strconv.Itoa(i),
			})
		}
		for i := range int(keys % 48) {
			a.Keys = append(a.Keys, appliance.Key{
				Type: keyType, Value: keyValue + strconv.Itoa(i), Label: keyLabel, Account: int(keyAccount),
			})
		}
		in := Input{
			MAC: appliance.MAC{0x00, 0x0b, 0x82, 0x12, 0x34, 0x56}, Model: model, Assignment: a,
			Site: site(t), ConfigServerPath: "box:80/p/token", AdminPassword: password,
		}

		out, err := Render(in)
		if err != nil {
			var fe *appliance.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Render error %v is not a *appliance.FieldError", err)
			}
			if _, lerr := RenderLegacy(in); lerr == nil || lerr.Error() != err.Error() {
				t.Fatalf("RenderLegacy error %v, Render error %v", lerr, err)
			}
			return
		}

		c, err := build(in)
		if err != nil {
			t.Fatalf("Render succeeded, build failed: %v", err)
		}
		want := map[string]string{}
		for p, v := range c {
			want["P"+strconv.Itoa(p)] = v.value
		}
		mac, got := parse(t, out)
		if mac != "000b82123456" {
			t.Errorf("mac = %q", mac)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("values read back (-want +got):\n%s", diff)
		}
		if again, _ := Render(in); !bytes.Equal(again, out) {
			t.Fatal("a second Render gave different bytes")
		}

		legacy, err := RenderLegacy(in)
		if err != nil {
			t.Fatalf("RenderLegacy: %v", err)
		}
		_, lgot, err := decodeLegacy(legacy)
		if err != nil {
			t.Fatalf("legacy: %v", err)
		}
		if diff := cmp.Diff(want, lgot); diff != "" {
			t.Fatalf("legacy values (-want +got):\n%s", diff)
		}

		// The preview shows every secret that is set as masked.
		preview := Mask(out)
		for _, p := range secretPs {
			name := "P" + strconv.Itoa(p)
			if got[name] != "" && !bytes.Contains(preview, []byte("<"+name+">"+masked+"</"+name+">")) {
				t.Fatalf("Mask left %s unmasked", name)
			}
		}
	})
}
