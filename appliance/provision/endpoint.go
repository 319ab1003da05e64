package provision

import (
	"net/netip"

	"github.com/pnpbox/pnpbox/appliance"
)

// Endpoint is how phones reach this box for their configs.
type Endpoint struct {
	Scheme string // "http" or "https"
	Port   int
}

// BoxEndpoint is the one place that decides the scheme and port of the
// box's config URLs — the NOTIFY body and the config server path (P237,
// whose protocol P212 the renderer takes from config_protocol): HTTPS on
// httpsPort when the site asks for config_protocol https and leaves
// config_server_path empty (phones fetch from this box), else HTTP on
// httpPort. A site that points config_server_path at another server keeps
// the box's own first download on HTTP.
func BoxEndpoint(s appliance.PhoneSettings, httpPort, httpsPort int) Endpoint {
	if s.ConfigProtocol == appliance.ProtocolHTTPS && s.ConfigServerPath == "" && httpsPort > 0 {
		return Endpoint{Scheme: "https", Port: httpsPort}
	}
	return Endpoint{Scheme: "http", Port: httpPort}
}

// ValidateEndpoint refuses settings that send phones to this box over a
// protocol it does not serve: config_protocol https with no
// config_server_path needs the box's HTTPS listener (httpsPort > 0), and
// tftp needs a server elsewhere (the box serves no TFTP). Errors are
// *appliance.FieldError.
func ValidateEndpoint(s appliance.PhoneSettings, httpsPort int) error {
	if s.ConfigServerPath != "" {
		return nil
	}
	switch s.ConfigProtocol {
	case appliance.ProtocolHTTPS:
		if httpsPort <= 0 {
			return &appliance.FieldError{Field: "config_protocol", Msg: "https to this box needs its HTTPS listener (pnpd -https); it is off"}
		}
	case appliance.ProtocolTFTP:
		return &appliance.FieldError{Field: "config_protocol", Msg: "the box serves no TFTP: set config_server_path to a TFTP server, or use http or https"}
	}
	return nil
}

// SetHTTPSPort sets the port of the box's HTTPS listener (0: none), known
// once it is open; config URLs use it when the site provisions over HTTPS.
func (c *Coordinator) SetHTTPSPort(port int) {
	c.mu.Lock()
	c.httpsPort = port
	c.mu.Unlock()
}

// endpointLocked is BoxEndpoint with the coordinator's facts.
func (c *Coordinator) endpointLocked() Endpoint {
	return BoxEndpoint(c.settings.PhoneSettings, c.cfg.HTTPPort, c.httpsPort)
}

// configServerLocked is the box address written into P237: over HTTP,
// local itself (the address and port the phone's download reached, so
// the second download goes where the first went); over HTTPS, local's
// address with the HTTPS listener's port.
func (c *Coordinator) configServerLocked(local netip.AddrPort) netip.AddrPort {
	if ep := c.endpointLocked(); ep.Scheme == "https" {
		return netip.AddrPortFrom(local.Addr(), uint16(ep.Port))
	}
	return local
}
