package provision

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/pnpbox/pnpbox/appliance"
)

// TestSortedMACsFollowTheirStrings checks that the phones come in the
// order of their MACs' strings, which the list, the press and the
// settings check promise, though the bytes are compared.
func TestSortedMACsFollowTheirStrings(t *testing.T) {
	f := newFixture(t)
	r := rand.New(rand.NewPCG(1, 2))
	f.c.mu.Lock()
	for range 500 {
		var m appliance.MAC
		for i := range m {
			m[i] = byte(r.Uint32())
		}
		f.c.phones[m] = &appliance.Phone{MAC: m}
	}
	got := f.c.sortedMACsLocked()
	f.c.mu.Unlock()
	if !slices.IsSortedFunc(got, func(a, b appliance.MAC) int { return strings.Compare(a.String(), b.String()) }) {
		t.Errorf("not in the order of their strings: %v", got)
	}
	if len(got) != 500 {
		t.Errorf("%d MACs, want 500", len(got))
	}
}
