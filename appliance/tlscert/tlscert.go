package tlscert

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// FileName is the file in the data directory that holds the certificate
// chain followed by its private key, PEM encoded (mode 0600).
const FileName = "tls.pem"

// maxPEM bounds an uploaded certificate chain plus key.
const maxPEM = 64 << 10

// ErrBadPair is wrapped by every Replace error that says the uploaded
// certificate and key cannot be used (nothing was changed).
var ErrBadPair = errors.New("unusable certificate or key")

// Info describes the certificate in use, for the API.
type Info struct {
	SHA256     string    `json:"tls_sha256"` // hex SHA-256 of the leaf certificate's DER
	Subject    string    `json:"subject"`
	DNSNames   []string  `json:"dns_names"`
	NotBefore  time.Time `json:"not_before"`
	NotAfter   time.Time `json:"not_after"`
	SelfSigned bool      `json:"self_signed"` // made by the box (not uploaded)
}

// Store is the box's certificate. Its methods are safe for concurrent use;
// GetCertificate sees a replacement at once, so new TLS connections get
// the new certificate without a restart.
type Store struct {
	path string
	now  func() time.Time

	mu   sync.Mutex
	cert *tls.Certificate
	info Info
}

// Open loads dir/tls.pem, or, when there is none, makes a self-signed
// ECDSA P-256 certificate (valid 20 years, for the names pnpbox,
// pnpbox.local and localhost) and writes it there. now nil means
// time.Now. A file that exists but cannot be used is an error rather than
// a silent new certificate: phones and browsers that pinned the old one
// would otherwise refuse the box without anyone knowing why.
func Open(dir string, now func() time.Time) (*Store, error) {
	if now == nil {
		now = time.Now
	}
	s := &Store{path: filepath.Join(dir, FileName), now: now}
	b, err := os.ReadFile(s.path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		b, err = SelfSigned(now())
		if err != nil {
			return nil, err
		}
		if err := writeAtomic(s.path, b); err != nil {
			return nil, fmt.Errorf("tls: write %s: %w", s.path, err)
		}
	case err != nil:
		return nil, fmt.Errorf("tls: %w", err)
	}
	c, info, err := parse(b)
	if err != nil {
		return nil, fmt.Errorf("tls: %s: %w (move it away to make a new self-signed certificate)", s.path, err)
	}
	s.cert, s.info = c, info
	return s, nil
}

// SelfSigned returns a new self-signed certificate and its key as one
// PEM file (certificate first), valid from an hour before now for 20
// years.
func SelfSigned(now time.Time) ([]byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("tls: key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("tls: serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "pnpbox", Organization: []string{"pnpbox (self-signed)"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(20, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              []string{"pnpbox", "pnpbox.local", "localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("tls: certificate: %w", err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("tls: key: %w", err)
	}
	out := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return append(out, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})...), nil
}

// parse checks a PEM file holding a certificate chain and its key.
func parse(b []byte) (*tls.Certificate, Info, error) {
	c, err := tls.X509KeyPair(b, b)
	if err != nil {
		return nil, Info{}, fmt.Errorf("%w: %v", ErrBadPair, err)
	}
	leaf := c.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(c.Certificate[0]); err != nil {
			return nil, Info{}, fmt.Errorf("%w: %v", ErrBadPair, err)
		}
	}
	switch c.PrivateKey.(type) {
	case *ecdsa.PrivateKey, *rsa.PrivateKey, ed25519.PrivateKey:
	default:
		return nil, Info{}, fmt.Errorf("%w: key type %T", ErrBadPair, c.PrivateKey)
	}
	if k, ok := c.PrivateKey.(*rsa.PrivateKey); ok && k.N.BitLen() < 2048 {
		return nil, Info{}, fmt.Errorf("%w: RSA key of %d bits (at least 2048)", ErrBadPair, k.N.BitLen())
	}
	sum := sha256.Sum256(leaf.Raw)
	info := Info{
		SHA256: hex.EncodeToString(sum[:]), Subject: leaf.Subject.String(), DNSNames: leaf.DNSNames,
		NotBefore: leaf.NotBefore.UTC(), NotAfter: leaf.NotAfter.UTC(),
		SelfSigned: leaf.CheckSignature(leaf.SignatureAlgorithm, leaf.RawTBSCertificate, leaf.Signature) == nil && len(leaf.Subject.Organization) == 1 && leaf.Subject.Organization[0] == "pnpbox (self-signed)",
	}
	if info.DNSNames == nil {
		info.DNSNames = []string{}
	}
	return &c, info, nil
}

// GetCertificate is for tls.Config.GetCertificate: the current certificate.
func (s *Store) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cert, nil
}

// TLSConfig is a server configuration on the store's certificate: TLS 1.2
// or later (phones' firmware may predate 1.3).
func (s *Store) TLSConfig() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: s.GetCertificate}
}

// Info describes the certificate in use.
func (s *Store) Info() Info {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.info
}

// Fingerprint is the hex SHA-256 of the certificate in use.
func (s *Store) Fingerprint() string { return s.Info().SHA256 }

// Replace makes certPEM (a chain, leaf first) with keyPEM the box's
// certificate: checked (the key matches, a supported key type, not
// expired), written to disk durably, then served to every new connection.
// Errors that say the pair is unusable wrap ErrBadPair.
func (s *Store) Replace(certPEM, keyPEM []byte) (Info, error) {
	if len(certPEM)+len(keyPEM) > maxPEM {
		return Info{}, fmt.Errorf("%w: more than %d KiB of PEM", ErrBadPair, maxPEM>>10)
	}
	var b []byte
	for rest := certPEM; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			return Info{}, fmt.Errorf("%w: certificate: a %q block (want CERTIFICATE blocks only)", ErrBadPair, blk.Type)
		}
		b = append(b, pem.EncodeToMemory(blk)...)
	}
	if len(b) == 0 {
		return Info{}, fmt.Errorf("%w: certificate: no PEM CERTIFICATE block", ErrBadPair)
	}
	kb, _ := pem.Decode(keyPEM)
	if kb == nil || (kb.Type != "PRIVATE KEY" && kb.Type != "EC PRIVATE KEY" && kb.Type != "RSA PRIVATE KEY") {
		return Info{}, fmt.Errorf("%w: key: no unencrypted PEM private key block", ErrBadPair)
	}
	b = append(b, pem.EncodeToMemory(kb)...)
	c, info, err := parse(b)
	if err != nil {
		return Info{}, err
	}
	if now := s.now(); now.After(info.NotAfter) {
		return Info{}, fmt.Errorf("%w: the certificate expired on %s", ErrBadPair, info.NotAfter.Format(time.DateOnly))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := writeAtomic(s.path, b); err != nil {
		return Info{}, fmt.Errorf("tls: write %s: %w", s.path, err)
	}
	s.cert, s.info = c, info
	return info, nil
}

// writeAtomic writes b to path (mode 0600) so that a power cut leaves
// either the old file or the whole new one.
func writeAtomic(path string, b []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".tls-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Fingerprint is the hex SHA-256 of a DER certificate, as Info.SHA256.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}
