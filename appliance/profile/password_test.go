package profile

import (
	"strings"
	"testing"
)

func TestGeneratePassword(t *testing.T) {
	seen := map[string]bool{}
	counts := map[rune]int{}
	for range 1000 {
		pw := GeneratePassword()
		if len(pw) < 16 {
			t.Fatalf("%q: %d characters, want at least 16", pw, len(pw))
		}
		for _, r := range pw {
			if !strings.ContainsRune(passwordAlphabet, r) {
				t.Fatalf("%q has %q, which is not in the alphabet", pw, r)
			}
			counts[r]++
		}
		if seen[pw] {
			t.Fatalf("%q generated twice", pw)
		}
		seen[pw] = true
	}
	for _, lookalike := range "0O1Iil" + "o" {
		if strings.ContainsRune(passwordAlphabet, lookalike) {
			t.Errorf("the alphabet has the look-alike %q", lookalike)
		}
	}
	// 20000 draws over 55 letters: about 364 each. A letter never or
	// hardly drawn means a broken mapping, not bad luck.
	for _, r := range passwordAlphabet {
		if counts[r] < 200 {
			t.Errorf("%q drawn %d times in 1000 passwords", r, counts[r])
		}
	}
}
