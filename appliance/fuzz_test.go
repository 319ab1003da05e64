package appliance

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// The parsers below read what installers type into the API and CSV files.

func FuzzParseMAC(f *testing.F) {
	for _, s := range []string{"000B82000001", "00:0b:82:00:00:01", "00-0B-82-00-00-01", "000b.8200.0001", "", "000000000000", "010000000000", "zz", "00:0b:82:00:00:01:02"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMAC(s)
		if err != nil {
			if !errors.Is(err, ErrBadMAC) {
				t.Fatalf("ParseMAC(%q) error %v does not wrap ErrBadMAC", s, err)
			}
			return
		}
		if m.IsZero() || m[0]&1 != 0 {
			t.Fatalf("ParseMAC(%q) = %s: zero or group address accepted", s, m)
		}
		for _, form := range []string{m.String(), m.Lower()} {
			if back, err := ParseMAC(form); err != nil || back != m {
				t.Fatalf("ParseMAC(%q) = %s, but %q parses to %s, %v", s, m, form, back, err)
			}
		}
	})
}

func FuzzParseMACPrefix(f *testing.F) {
	for _, s := range []string{"000B82", "00:0b:82", "000B82000001", "000B82F", "0B82", "000B82000001FF", "00 0B 82", "g00000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseMACPrefix(s)
		if err != nil {
			return
		}
		if len(p) < 6 || len(p) > 12 || strings.ToUpper(p) != p {
			t.Fatalf("ParseMACPrefix(%q) = %q: want 6-12 upper-case hex digits", s, p)
		}
		if again, err := ParseMACPrefix(p); err != nil || again != p {
			t.Fatalf("ParseMACPrefix(%q) = %q, not stable: %q, %v", s, p, again, err)
		}
		// A MAC that starts with the prefix matches it.
		var m MAC
		full := (p + "000000000000")[:12]
		for i := range m {
			m[i] = hexVal(full[2*i])<<4 | hexVal(full[2*i+1])
		}
		if !MatchMAC([]string{p}, m) {
			t.Fatalf("MatchMAC([%q], %s) = false", p, m)
		}
	})
}

func hexVal(c byte) byte {
	switch {
	case c >= 'A':
		return c - 'A' + 10
	default:
		return c - '0'
	}
}

func FuzzParsePool(f *testing.F) {
	for _, s := range []string{"200-299", "200-249,300-310", "200-249,260", "0200-0299", "200-199", "1-2,2-3", "a-b", "", " 100 - 105 ", "007-010,7-10"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePool(s)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != "extension_pool" {
				t.Fatalf("ParsePool(%q) error %v is not a field error on extension_pool", s, err)
			}
			return
		}
		again, err := ParsePool(p.String())
		if err != nil || !reflect.DeepEqual(again, p) {
			t.Fatalf("ParsePool(%q) = %v, but its String %q parses to %v, %v", s, p, p.String(), again, err)
		}
		if free := p.Free(3, func(string) bool { return false }); len(p) > 0 {
			if want := min(p.Size(), 3); uint64(len(free)) != want && p.Size() > 0 {
				t.Fatalf("ParsePool(%q).Free(3) = %v, want %d extensions", s, free, want)
			}
			for _, ext := range free {
				if !p.Contains(ext) {
					t.Fatalf("pool %s hands out %q but does not contain it", p, ext)
				}
			}
		}
	})
}

// FuzzAssignmentNormalize: the assignment validator never panics, fails
// only with a *FieldError, and what it accepts it accepts again unchanged.
func FuzzAssignmentNormalize(f *testing.F) {
	f.Add("201", "s3cret", "Reception", "", "pbx.example.net:5060", "PCMU", "GXP2140", "P1234", "v")
	f.Add(" 2%41 ", "pw", "Ünïcode", "auth", "10.0.0.1", "g722", "", "P0", "")
	f.Add("", "", "", "", "", "", "", "", "")
	f.Add("a b", "\x00", "\x1b[31m", "x", "-bad-.host", "SPEEX", "gxp 2140", "X1", "\x00")
	f.Fuzz(func(t *testing.T, ext, pw, name, auth, server, codec, model, pname, pvalue string) {
		a := Assignment{Extension: ext, Password: pw, DisplayName: name, AuthID: auth, SIPServer: server,
			Codecs: []string{codec}, Model: model, PValues: map[string]string{pname: pvalue},
			Accounts: []Account{{Extension: auth, Password: pw, SIPServer: server}}}
		n, err := a.Normalize()
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || !errors.Is(err, ErrInvalid) {
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
