package provision

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pnpbox/pnpbox/appliance"
)

func TestApproval(t *testing.T) {
	f := newFixture(t, clock())
	f.settings(t, `{"unknown_phones":"ignore","allow_macs":["000B82"],"deny_macs":["00:0B:82:00:00:09"]}`)
	other := mac(t, "001565000001")     // not on the allow list
	allowed := mac(t, "000B82000001")   // the OUI is allowed
	denied := mac(t, "000B82000009")    // allowed OUI, but denied
	prestaged := mac(t, "001565000002") // not allowed, but expected
	a := assignment
	a.Extension = "202"
	if _, err := f.c.Assign(prestaged, a); err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.Assign(denied, assignment); !errors.Is(err, ErrDenied) {
		t.Errorf("assign to a denied MAC: %v", err)
	}
	for i, m := range []appliance.MAC{other, allowed, denied, prestaged, other} {
		d := disc(m, fmt.Sprintf("198.18.0.%d", 100+i), fmt.Sprint("c", i))
		d.Vendor = "Grandstream"
		f.c.discover(d)
	}
	var got []string
	for _, e := range f.c.Phones() {
		got = append(got, e.Phone.MAC.String())
	}
	if diff := cmp.Diff([]string{"000B82000001", "001565000002"}, got); diff != "" {
		t.Errorf("recorded (-want +got):\n%s", diff)
	}
	st := f.c.Status()
	if st.Admission.Ignored != 2 || st.Admission.Denied != 1 || len(st.Admission.Recent) != 2 || st.Admission.Recent[1].MAC != other {
		t.Errorf("admission %+v", st.Admission)
	}
	if e, _ := f.c.Phone(prestaged); !e.Phone.Seen() {
		t.Error("the pre-staged phone's SUBSCRIBE was not recorded")
	}

	// A phone denied after it was recorded is kept but never provisioned.
	f.settings(t, `{"deny_macs":["000B82000001"],"unknown_phones":"list","allow_macs":[]}`)
	if _, err := f.c.Assign(allowed, assignment); !errors.Is(err, ErrDenied) {
		t.Errorf("assign: %v", err)
	}
	f.c.discover(disc(other, "198.18.0.200", "c9")) // list mode: recorded now
	if _, err := f.c.Phone(other); err != nil {
		t.Errorf("list mode: %v", err)
	}
}

func TestDeniedPhoneGetsNoConfig(t *testing.T) {
	f := newFixture(t)
	m := mac(t, "000B82000001")
	f.c.discover(disc(m, "198.18.0.100", "c1"))
	if _, err := f.c.Assign(m, assignment); err != nil {
		t.Fatal(err)
	}
	f.settings(t, `{"deny_macs":["000B82000001"]}`)
	if err := f.download(t, m, "cfg.xml"); !errors.Is(err, ErrNotFound) {
		t.Errorf("download by a denied phone: %v", err)
	}
	sum, _ := f.c.ProvisionAll()
	if len(sum.Sent) != 0 || len(sum.Skipped) != 1 || sum.Skipped[0].Reason != ErrDenied.Error() {
		t.Errorf("press: %+v", sum)
	}
}
