package provision

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pnpbox/pnpbox/appliance"
)

// A press answers the render check from the phone's last one only while
// its inputs are unchanged: a phone that passed, then announces itself as
// a model its assignment cannot be laid out on, is skipped with the
// renderer's reason; back on its model it is sent its NOTIFY again. After
// every step the coordinator's answer is the pure rule's (MayNotify).
func TestRenderCheckFollowsItsInputs(t *testing.T) {
	f := newFixture(t)
	m := mac(t, "000B82000001")
	a := assignment
	a.Keys = []appliance.Key{{Type: "blf", Value: "202"}}
	d := disc(m, "198.18.0.100", "c1")
	f.c.discover(d)
	if _, err := f.c.Assign(m, a); err != nil {
		t.Fatal(err)
	}
	f.n.SetResult(appliance.NotifyRefused) // every press finds it pending again
	press := func(step string, wantSent bool, wantReason string) {
		t.Helper()
		sum, err := f.c.ProvisionAll()
		f.c.notifWG.Wait()
		if err != nil {
			t.Fatalf("%s: press: %v", step, err)
		}
		if got := len(sum.Sent) == 1; got != wantSent {
			t.Errorf("%s: sent %v, skipped %+v; want sent %v", step, sum.Sent, sum.Skipped, wantSent)
		}
		if wantReason != "" && (len(sum.Skipped) != 1 || !strings.Contains(sum.Skipped[0].Reason, wantReason)) {
			t.Errorf("%s: skipped %+v, want the reason to say %q", step, sum.Skipped, wantReason)
		}
		f.c.mu.Lock()
		defer f.c.mu.Unlock()
		p := f.c.phones[m]
		aa := f.c.assignments[m]
		if got, want := fmt.Sprint(f.c.canNotifyLocked(p)), fmt.Sprint(MayNotify(p, &aa, f.c.inflight[m], f.c.settings)); got != want {
			t.Errorf("%s: coordinator says %s, the rule says %s", step, got, want)
		}
	}
	press("assigned GXP2140", true, "")
	press("pressed again", true, "")

	d.Model, d.Dialog.CallID = "GXP1610", "c2" // no programmable keys
	f.c.discover(d)                            // a failed phone is retried when it announces itself
	f.c.notifWG.Wait()
	press("now a GXP1610", false, "config cannot be rendered")

	d.Model, d.Dialog.CallID = "GXP2140", "c3"
	f.c.discover(d) // a failed phone is retried when it announces itself
	f.c.notifWG.Wait()
	press("a GXP2140 again", true, "")

	// A new assignment is checked again: without keys it fits the GXP1610.
	d.Model, d.Dialog.CallID = "GXP1610", "c4"
	f.c.discover(d)
	f.c.notifWG.Wait()
	if _, err := f.c.Assign(m, assignment); err != nil {
		t.Fatal(err)
	}
	press("a GXP1610 without keys", true, "")

	// The site's phone admin password is an input too.
	f.settings(t, `{"phone_admin_password":"Site-admin-1"}`)
	press("site admin password", true, "")
}

// A press with many phones to check checks them on every core; its
// answer is the rule's all the same: the phones whose config cannot be
// rendered are skipped with the renderer's reason, the others sent.
func TestPressChecksManyPhones(t *testing.T) {
	f := newFixture(t)
	a := assignment
	a.Model = "GXP2140" // pre-staged for it
	a.Keys = []appliance.Key{{Type: "blf", Value: "202"}}
	const n = 200
	want := map[appliance.MAC]bool{} // sent
	for i := range n {
		m := appliance.MAC{0x00, 0x0b, 0x82, 0, byte(i >> 8), byte(i)}
		if _, err := f.c.Assign(m, a); err != nil {
			t.Fatal(err)
		}
		d := disc(m, fmt.Sprintf("198.18.%d.%d", 1+i/250, 1+i%250), fmt.Sprintf("call-%d", i))
		if i%10 == 3 {
			d.Model = "GXP1610" // no programmable keys
		}
		f.c.discover(d)
		want[m] = i%10 != 3
	}
	f.c.mu.Lock()
	f.c.checks = nil // nothing remembered: the press checks every phone
	f.c.mu.Unlock()
	sum, err := f.c.ProvisionAll()
	f.c.notifWG.Wait()
	if err != nil {
		t.Fatal(err)
	}
	got := map[appliance.MAC]bool{}
	for _, m := range sum.Sent {
		got[m] = true
	}
	for _, sk := range sum.Skipped {
		if !strings.Contains(sk.Reason, "config cannot be rendered") || !strings.Contains(sk.Reason, "GXP1610") {
			t.Errorf("%s skipped: %q, want the render failure", sk.MAC, sk.Reason)
		}
		got[sk.MAC] = false
	}
	if len(got) != n {
		t.Fatalf("press answered for %d phones, want %d", len(got), n)
	}
	for m, sent := range want {
		if got[m] != sent {
			t.Errorf("%s: sent %v, want %v", m, got[m], sent)
		}
	}
}
