package provision

import (
	"testing"

	"github.com/pnpbox/pnpbox/appliance"
)

func TestBoxEndpoint(t *testing.T) {
	for _, c := range []struct {
		name      string
		s         appliance.PhoneSettings
		httpsPort int
		want      Endpoint
		valid     bool
	}{
		{"default", appliance.PhoneSettings{}, 443, Endpoint{"http", 80}, true},
		{"http", appliance.PhoneSettings{ConfigProtocol: "http"}, 443, Endpoint{"http", 80}, true},
		{"https to the box", appliance.PhoneSettings{ConfigProtocol: "https"}, 8443, Endpoint{"https", 8443}, true},
		{"https to the box without a listener", appliance.PhoneSettings{ConfigProtocol: "https"}, 0, Endpoint{"http", 80}, false},
		{"https elsewhere", appliance.PhoneSettings{ConfigProtocol: "https", ConfigServerPath: "cfg.example.net/x"}, 0, Endpoint{"http", 80}, true},
		{"tftp to the box", appliance.PhoneSettings{ConfigProtocol: "tftp"}, 443, Endpoint{"http", 80}, false},
		{"tftp elsewhere", appliance.PhoneSettings{ConfigProtocol: "tftp", ConfigServerPath: "10.0.0.9"}, 443, Endpoint{"http", 80}, true},
	} {
		if got := BoxEndpoint(c.s, 80, c.httpsPort); got != c.want {
			t.Errorf("%s: BoxEndpoint %+v, want %+v", c.name, got, c.want)
		}
		if err := ValidateEndpoint(c.s, c.httpsPort); (err == nil) != c.valid {
			t.Errorf("%s: ValidateEndpoint %v, want valid %v", c.name, err, c.valid)
		}
	}
}
