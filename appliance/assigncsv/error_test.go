package assigncsv

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pnpbox/pnpbox/appliance"
)

// TestReadErrorTyped: a file-wide error carries its line and text column
// as fields, so callers need not parse the message.
func TestReadErrorTyped(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Error
	}{
		{"", Error{Line: 1, Msg: "empty file; the first line must be a header such as mac,extension,password"}},
		{"mac,mac\n", Error{Line: 1, Msg: `column "mac" twice`}},
		{"mac,extension\n000B82000001,201\n000B82000002,\"20\"2\n", Error{Line: 3, Column: 17, Msg: `extraneous or missing " in quoted-field`}},
	} {
		_, err := Read(strings.NewReader(tc.in))
		var got *Error
		if !errors.As(err, &got) {
			t.Fatalf("Read(%q) = %v, want an *Error", tc.in, err)
		}
		if d := cmp.Diff(tc.want, *got); d != "" {
			t.Errorf("Read(%q) (-want +got):\n%s", tc.in, d)
		}
	}
}

func TestChanged(t *testing.T) {
	a := appliance.Assignment{Extension: "201", Password: "x", Codecs: []string{"PCMU"}, Keys: []appliance.Key{{Type: "blf", Value: "202"}}}
	b := a
	b.Password, b.Codecs, b.Keys, b.Model = "y", []string{"PCMA"}, []appliance.Key{{Type: "blf", Value: "203"}}, "GXP2140"
	if d := cmp.Diff([]string{"password", "codecs", "keys", "model"}, Changed(a, b)); d != "" {
		t.Errorf("Changed (-want +got):\n%s", d)
	}
	if got := Changed(a, a); got != nil {
		t.Errorf("Changed(a, a) = %v, want none", got)
	}
}
