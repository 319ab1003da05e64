package assigncsv

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pnpbox/pnpbox/appliance"
)

func TestParseKeys(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []appliance.Key
	}{
		{"", nil},
		{"blf:201:Reception", []appliance.Key{{Type: "blf", Value: "201", Label: "Reception"}}},
		{"blf:201:Reception|speed_dial:+15551234:Office", []appliance.Key{{Type: "blf", Value: "201", Label: "Reception"}, {Type: "speed_dial", Value: "+15551234", Label: "Office"}}},
		{`speed_dial:+15551234:Office\: main\|line`, []appliance.Key{{Type: "speed_dial", Value: "+15551234", Label: "Office: main|line"}}},
		{`speed_dial:sip\:201@pbx:back\\slash`, []appliance.Key{{Type: "speed_dial", Value: "sip:201@pbx", Label: `back\slash`}}},
		{"none|blf:301::2|voicemail", []appliance.Key{{Type: "none"}, {Type: "blf", Value: "301", Account: 2}, {Type: "voicemail"}}},
		{"blf:201:A:", []appliance.Key{{Type: "blf", Value: "201", Label: "A"}}},
	} {
		got, err := ParseKeys(tc.in)
		if err != nil {
			t.Errorf("ParseKeys(%q): %v", tc.in, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("ParseKeys(%q) (-want +got):\n%s", tc.in, diff)
		}
	}
	for _, in := range []string{"blf:201|", "|blf:201", `blf:201\`, "blf:1:2:3:4", "blf:201:x:zero", "blf:201:x:0", ":201"} {
		if got, err := ParseKeys(in); err == nil {
			t.Errorf("ParseKeys(%q) = %+v, want an error", in, got)
		}
	}
}

func FuzzKeysRoundTrip(f *testing.F) {
	for _, s := range []string{"blf:201:Reception|speed_dial:+15551234:Office", `a\:b:c\|d:e\\f:3`, "none||x", "::::"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		keys, err := ParseKeys(s)
		if err != nil {
			return
		}
		again, err := ParseKeys(FormatKeys(keys))
		if err != nil {
			t.Fatalf("FormatKeys(%+v) = %q does not parse: %v", keys, FormatKeys(keys), err)
		}
		if diff := cmp.Diff(keys, again); diff != "" {
			t.Errorf("round trip of %q (-first +second):\n%s", s, diff)
		}
	})
}

func TestRead(t *testing.T) {
	in := "\xef\xbb\xbfMAC, Extension ,display name,codecs\n" +
		"000B82000001,201,\"Front, desk\",PCMU;G722\n" +
		"\n" +
		",,,\n" +
		"000B82000002,202,\"two\nlines\"\n" + // too few fields
		"000B82000003,203,Lager,\n"
	f, err := Read(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"mac", "extension", "display_name", "codecs"}, f.Columns); diff != "" {
		t.Errorf("columns (-want +got):\n%s", diff)
	}
	var got []string
	for _, r := range f.Rows {
		got = append(got, strings.Join([]string{r.Get(ColMAC), r.Get(ColExtension), r.Get(ColDisplayName), r.Get(ColCodecs), r.Get(ColPassword)}, "/"))
	}
	if diff := cmp.Diff([]string{"000B82000001/201/Front, desk/PCMU;G722/", "000B82000003/203/Lager//"}, got); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	if f.Rows[1].Line != 7 {
		t.Errorf("line of the last row = %d, want 7 (a quoted newline counts)", f.Rows[1].Line)
	}
	if diff := cmp.Diff([]RowError{{Line: 5, MAC: "000B82000002", Error: "has 3 fields, the header has 4"}}, f.Errors); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
}

func TestReadSemicolons(t *testing.T) {
	f, err := Read(strings.NewReader("mac;extension;codecs\n000B82000001;201;\"PCMU;G722\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	var a appliance.Assignment
	if err := f.Rows[0].Apply(&a); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(appliance.Assignment{Extension: "201", Codecs: []string{"PCMU", "G722"}}, a); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestReadFails(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "line 1: empty file"},
		{"mac,extension,colour\n", `line 1: unknown column "colour"`},
		{"mac,extension,MAC\n", `line 1: column "mac" twice`},
		{"extension,password\n201,x\n", `line 1: no "mac" column`},
		{"mac,extension\n000B82000001,\"201\n", "line 2, column"},
		{"mac,extension\n" + strings.Repeat("000B82000001,201\n", MaxRows+1), "more than 20000 rows"},
	} {
		_, err := Read(strings.NewReader(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Read(%.40q) = %v, want an error with %q", tc.in, err, tc.want)
		}
	}
}

func TestApplyKeepsWhatTheFileLacks(t *testing.T) {
	f, err := Read(strings.NewReader("mac,extension,password,keys\n000B82000001,205,,blf:201:A\n"))
	if err != nil {
		t.Fatal(err)
	}
	a := appliance.Assignment{Extension: "201", Password: "keep-me", DisplayName: "keep me too", Codecs: []string{"PCMU"}}
	if err := f.Rows[0].Apply(&a); err != nil {
		t.Fatal(err)
	}
	want := appliance.Assignment{Extension: "205", Password: "keep-me", DisplayName: "keep me too", Codecs: []string{"PCMU"},
		Keys: []appliance.Key{{Type: "blf", Value: "201", Label: "A"}}}
	if diff := cmp.Diff(want, a); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestWriteReadRoundTrip: what Write writes, Read and Apply give back.
func TestWriteReadRoundTrip(t *testing.T) {
	rows := []ExportRow{
		{MAC: appliance.MAC{0, 0x0b, 0x82, 0, 0, 1}, Assignment: &appliance.Assignment{Extension: "201", Password: `p,w"1`, DisplayName: "Müller, \"Empfang\"",
			AuthID: "a201", SIPServer: "pbx.example.net:5070", Codecs: []string{"PCMU", "G722"}, Model: "GXP2160",
			Keys: []appliance.Key{{Type: "blf", Value: "202", Label: "Sales|EMEA: 1"}, {Type: "none"}, {Type: "speed_dial", Value: "+1555", Account: 2}}}},
		{MAC: appliance.MAC{0, 0x0b, 0x82, 0, 0, 2}, Model: "GXP2140"},
	}
	for _, withPW := range []bool{true, false} {
		var buf bytes.Buffer
		w, err := NewWriter(&buf, withPW)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if err := w.Write(r); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		f, err := Read(&buf)
		if err != nil {
			t.Fatal(err)
		}
		if len(f.Rows) != 2 || len(f.Errors) != 0 || f.Rows[0].Blank() || !f.Rows[1].Blank() {
			t.Fatalf("read back %d rows, %v", len(f.Rows), f.Errors)
		}
		a := appliance.Assignment{Password: "stored"}
		if err := f.Rows[0].Apply(&a); err != nil {
			t.Fatal(err)
		}
		want := *rows[0].Assignment
		if !withPW {
			want.Password = "stored"
		}
		if diff := cmp.Diff(want, a); diff != "" {
			t.Errorf("passwords %v: round trip (-want +got):\n%s", withPW, diff)
		}
	}
}

func FuzzRead(f *testing.F) {
	f.Add([]byte("mac,extension,password,keys\n000B82000001,201,pw,blf:202:A\n"))
	f.Add([]byte("\xef\xbb\xbfmac;codecs\n000B82000001;\"PCMU;G722\"\n"))
	f.Add([]byte("mac,extension\n\"unterminated\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := Read(bytes.NewReader(b))
		if err != nil {
			return
		}
		for _, r := range file.Rows {
			var a appliance.Assignment
			_ = r.Apply(&a)
			_ = r.Blank()
		}
	})
}
