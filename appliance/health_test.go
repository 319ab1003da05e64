package appliance

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestHealthFault(t *testing.T) {
	disk := errors.New("write phones.db: no space left on device")
	alerts := []Alert{
		{Kind: AlertDatabaseRecovered, Message: "first"},
		{Kind: AlertDatabaseRecovered, Message: "database was damaged and replaced"},
	}
	for _, tc := range []struct {
		name string
		h    Health
		want Fault
	}{
		{"healthy", Health{}, Fault{Serving: true}},
		{"LAN", Health{LAN: "interface eth0 has no link (cable?)"}, Fault{Problem: "interface eth0 has no link (cable?)"}},
		{"storage", Health{Storage: disk}, Fault{Problem: "storage: write phones.db: no space left on device"}},
		{"alert: the newest, still serving", Health{Alerts: alerts}, Fault{Problem: "alert: database was damaged and replaced", Serving: true}},
		{"LAN before storage", Health{LAN: "interface eth0 is down", Storage: disk}, Fault{Problem: "interface eth0 is down"}},
		{"LAN before alerts", Health{LAN: "interface eth0 is down", Alerts: alerts}, Fault{Problem: "interface eth0 is down"}},
		{"storage before alerts", Health{Storage: disk, Alerts: alerts}, Fault{Problem: "storage: write phones.db: no space left on device"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tc.h.Fault()); diff != "" {
				t.Errorf("Fault (-want +got):\n%s", diff)
			}
		})
	}
}
