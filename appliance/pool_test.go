package appliance

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParsePool(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
		size uint64
	}{
		{"", "", 0},
		{"200-299", "200-299", 100},
		{" 200-249 , 300-310 ", "200-249,300-310", 61},
		{"300-310,200-249", "300-310,200-249", 61}, // handed out in the order written
		{"200-249,260", "200-249,260", 51},
		{"0200-0299", "0200-0299", 100},
		{"0-9", "0-9", 10},
		{"0-0", "0", 1},
	} {
		p, err := ParsePool(tc.in)
		if err != nil {
			t.Errorf("ParsePool(%q): %v", tc.in, err)
			continue
		}
		if p.String() != tc.want || p.Size() != tc.size {
			t.Errorf("ParsePool(%q) = %q size %d, want %q size %d", tc.in, p, p.Size(), tc.want, tc.size)
		}
	}
	for _, in := range []string{"200-", "-200", "2OO-299", "299-200", "200-299,250-260", "200-299,200", "0200-299", "200-0299",
		"1234567890123456789-1234567890123456790", "200--300", ",", "200,,300", "abc"} {
		_, err := ParsePool(in)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != "extension_pool" {
			t.Errorf("ParsePool(%q) = %v, want a FieldError on extension_pool", in, err)
		}
	}
}

func TestPoolFreeAndContains(t *testing.T) {
	p, err := ParsePool("0200-0203,300-301")
	if err != nil {
		t.Fatal(err)
	}
	taken := map[string]bool{"0201": true, "0203": true, "300": true}
	got := p.Free(10, func(e string) bool { return taken[e] })
	if diff := cmp.Diff([]string{"0200", "0202", "301"}, got); diff != "" {
		t.Errorf("Free (-want +got):\n%s", diff)
	}
	if got := p.Free(1, func(string) bool { return false }); len(got) != 1 || got[0] != "0200" {
		t.Errorf("Free(1) = %v", got)
	}
	for ext, want := range map[string]bool{"0200": true, "200": false, "0204": false, "300": true, "0300": false, "": false, "30a": false} {
		if got := p.Contains(ext); got != want {
			t.Errorf("Contains(%q) = %v, want %v", ext, got, want)
		}
	}
}
