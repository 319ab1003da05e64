package appliance

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestAssignmentNormalize(t *testing.T) {
	in := Assignment{Extension: " 201 ", Password: "s3cret pw", DisplayName: "Empfang Süd", AuthID: " a201 ",
		SIPServer: " pbx.example.net:5060 ", Codecs: []string{"pcmu", " g722 ", "opus"}, Model: " gxp2140 ",
		Accounts: []Account{{Extension: " 202 ", SIPServer: " 10.0.0.2 "}}, PValues: map[string]string{"P1234": "v"}}
	want := Assignment{Extension: "201", Password: "s3cret pw", DisplayName: "Empfang Süd", AuthID: "a201",
		SIPServer: "pbx.example.net:5060", Codecs: []string{"PCMU", "G722", "OPUS"}, Model: "GXP2140",
		Accounts: []Account{{Extension: "202", SIPServer: "10.0.0.2"}}, PValues: map[string]string{"P1234": "v"}}
	got, err := in.Normalize()
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Normalize (-want +got):\n%s", d)
	}
}

func TestAssignmentErrors(t *testing.T) {
	ok := Assignment{Extension: "201"}
	with := func(f func(*Assignment)) Assignment { a := ok; f(&a); return a }
	for _, tc := range []struct {
		name  string
		a     Assignment
		field string
	}{
		{"no extension", Assignment{}, "extension"},
		{"space in extension", with(func(a *Assignment) { a.Extension = "2 01" }), "extension"},
		{"long extension", with(func(a *Assignment) { a.Extension = strings.Repeat("1", 65) }), "extension"},
		{"bad escape in extension", with(func(a *Assignment) { a.Extension = "20%G1" }), "extension"},
		{"auth id", with(func(a *Assignment) { a.AuthID = "a@b" }), "auth_id"},
		{"control in password", with(func(a *Assignment) { a.Password = "pw\n" }), "password"},
		{"long password", with(func(a *Assignment) { a.Password = strings.Repeat("x", 65) }), "password"},
		{"control in display name", with(func(a *Assignment) { a.DisplayName = "a\x1bb" }), "display_name"},
		{"invalid UTF-8 display name", with(func(a *Assignment) { a.DisplayName = "\xff" }), "display_name"},
		{"bad server", with(func(a *Assignment) { a.SIPServer = "pbx_1.example" }), "sip_server"},
		{"bad port", with(func(a *Assignment) { a.SIPServer = "pbx:70000" }), "sip_server"},
		{"unknown codec", with(func(a *Assignment) { a.Codecs = []string{"PCMU", "SPEEX"} }), "codecs[1]"},
		{"duplicate codec", with(func(a *Assignment) { a.Codecs = []string{"PCMU", "pcmu"} }), "codecs[1]"},
		{"too many codecs", with(func(a *Assignment) { a.Codecs = make([]string, 9) }), "codecs"},
		{"model", with(func(a *Assignment) { a.Model = "GXP 2140" }), "model"},
		{"account extension", with(func(a *Assignment) { a.Accounts = []Account{{}} }), "accounts[0].extension"},
		{"account server", with(func(a *Assignment) { a.Accounts = []Account{{Extension: "1", SIPServer: "-x"}} }), "accounts[0].sip_server"},
	} {
		_, err := tc.a.Normalize()
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field {
			t.Errorf("%s: Normalize = %v, want a field error on %s", tc.name, err, tc.field)
		}
	}
}
