package store

import (
	"fmt"
	"sync/atomic"
	"testing"
)

// TestDecodeAllLowestError checks that the parallel decode reports the
// failure a sequential walk would meet first, whichever worker finds it,
// and that it decodes every record when none fails.
func TestDecodeAllLowestError(t *testing.T) {
	tests := []struct {
		n    int
		bad  []int
		want int // index named by the error; -1: no error
	}{
		{n: 0, want: -1},
		{n: 1, bad: []int{0}, want: 0},
		{n: 20000, want: -1},
		{n: 20000, bad: []int{19999}, want: 19999},
		{n: 20000, bad: []int{63, 64, 19000}, want: 63},
		{n: 20000, bad: []int{12000, 5000, 9000}, want: 5000},
		{n: 300, bad: []int{299, 1}, want: 1},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("n%d-bad%v", tt.n, tt.bad), func(t *testing.T) {
			bad := map[int]bool{}
			for _, i := range tt.bad {
				bad[i] = true
			}
			var calls atomic.Int64
			err := decodeAll(tt.n, func(_, i int) error {
				calls.Add(1)
				if bad[i] {
					return fmt.Errorf("%d", i)
				}
				return nil
			})
			switch {
			case tt.want < 0 && err != nil:
				t.Fatalf("decodeAll = %v, want nil", err)
			case tt.want < 0 && calls.Load() != int64(tt.n):
				t.Fatalf("decoded %d records of %d", calls.Load(), tt.n)
			case tt.want >= 0 && (err == nil || err.Error() != fmt.Sprint(tt.want)):
				t.Fatalf("decodeAll = %v, want the error of record %d", err, tt.want)
			}
		})
	}
}
