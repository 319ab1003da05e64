package main

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"

	"github.com/pnpbox/pnpbox/appliance/tlscert"
	"github.com/pnpbox/pnpbox/appliance/web"
)

// listenHTTPS opens the HTTPS listener (-https) on the box's certificate,
// which tlscert makes in the data directory on first start. nil, nil with
// HTTPS off. With the default address a failure to listen (port 443 taken,
// or no privilege to bind it when pnpd runs as a user on a laptop) turns
// HTTPS off with a warning; an address given explicitly must work.
func listenHTTPS(o *options, log *slog.Logger) (net.Listener, *tlscert.Store, error) {
	if o.https == "" {
		return nil, nil, nil
	}
	cert, err := tlscert.Open(o.data, nil)
	if err != nil {
		return nil, nil, err
	}
	ln, err := net.Listen("tcp", o.https)
	if err != nil {
		if !o.httpsExplicit {
			log.Warn("HTTPS is off: cannot listen on the default address (set -https ADDR, or -https off)", "https", o.https, "err", err)
			return nil, nil, nil
		}
		return nil, nil, fmt.Errorf("listen -https %s: %w", o.https, err)
	}
	log.Info("HTTPS on the box's certificate", "https", ln.Addr().String(), "tls_sha256", cert.Fingerprint())
	return tls.NewListener(ln, cert.TLSConfig()), cert, nil
}

// tlsDep is cert as web.Deps wants it: a nil interface when HTTPS is off.
func tlsDep(cert *tlscert.Store) web.TLSCert {
	if cert == nil {
		return nil
	}
	return cert
}
