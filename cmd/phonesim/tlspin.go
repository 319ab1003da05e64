package main

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
)

// errCertChanged is a TLS handshake refused because the server's
// certificate is not the one seen before.
var errCertChanged = errors.New("the server's certificate changed")

// certPin is what a phone with certificate validation off can still do:
// accept the first certificate it sees (trust on first use) and refuse a
// different one afterwards, so a responder that answers later with another
// certificate is caught. Safe for concurrent use.
type certPin struct {
	mu   sync.Mutex
	seen string // hex SHA-256 of the first leaf certificate
}

// verify is tls.Config.VerifyConnection.
func (p *certPin) verify(cs tls.ConnectionState) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("no server certificate")
	}
	sum := sha256.Sum256(cs.PeerCertificates[0].Raw)
	got := hex.EncodeToString(sum[:])
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.seen == "" {
		p.seen = got
		return nil
	}
	if got != p.seen {
		return fmt.Errorf("%w: sha256 %s, first seen %s", errCertChanged, got, p.seen)
	}
	return nil
}
