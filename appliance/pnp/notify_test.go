package pnp

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/google/go-cmp/cmp"
)

// sendTimes runs clientTxn in a synctest bubble and returns the offsets at
// which the request was (re)sent, and the outcome.
func sendTimes(t *testing.T, script func(responses chan<- *sip.Response)) ([]time.Duration, *sip.Response, error) {
	var (
		times []time.Duration
		res   *sip.Response
		err   error
	)
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		responses := make(chan *sip.Response, 4)
		go script(responses)
		res, err = clientTxn(t.Context(), func() error {
			times = append(times, time.Since(start))
			return nil
		}, responses, 500*time.Millisecond, 4*time.Second, func() {})
	})
	return times, res, err
}

func secs(ss ...float64) []time.Duration {
	out := make([]time.Duration, len(ss))
	for i, s := range ss {
		out[i] = time.Duration(s * float64(time.Second))
	}
	return out
}

// TestClientTxnTimers checks RFC 3261 §17.1.2.2 timing: Timer E at T1,
// doubling to T2, and Timer F at 64·T1.
func TestClientTxnTimers(t *testing.T) {
	times, _, err := sendTimes(t, func(chan<- *sip.Response) {})
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	want := secs(0, 0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5)
	if diff := cmp.Diff(want, times); diff != "" {
		t.Errorf("send times (-want +got):\n%s", diff)
	}
}

// TestClientTxnProvisional: after a 1xx, retransmissions continue every T2
// until the final response ends the transaction.
func TestClientTxnProvisional(t *testing.T) {
	times, res, err := sendTimes(t, func(r chan<- *sip.Response) {
		time.Sleep(100 * time.Millisecond)
		r <- sip.NewResponse(100, "Trying")
		time.Sleep(9900 * time.Millisecond) // t = 10 s
		r <- sip.NewResponse(200, "OK")
	})
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("res %v err %v", res, err)
	}
	if diff := cmp.Diff(secs(0, 0.5, 4.5, 8.5), times); diff != "" {
		t.Errorf("send times (-want +got):\n%s", diff)
	}
}

func TestClientTxnFinalStops(t *testing.T) {
	times, res, err := sendTimes(t, func(r chan<- *sip.Response) {
		time.Sleep(700 * time.Millisecond)
		r <- sip.NewResponse(481, "Call/Transaction Does Not Exist")
	})
	if err != nil || res.StatusCode != 481 {
		t.Fatalf("res %v err %v", res, err)
	}
	if diff := cmp.Diff(secs(0, 0.5), times); diff != "" {
		t.Errorf("send times (-want +got):\n%s", diff)
	}
}

func TestClientTxnCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		defer cancel()
		_, err := clientTxn(ctx, func() error { return nil }, make(chan *sip.Response), 500*time.Millisecond, 4*time.Second, func() {})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v", err)
		}
	})
}
