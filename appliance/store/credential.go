package store

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
)

// Credential is a salted PBKDF2-SHA256 hash of the admin password; the
// password itself is never stored.
type Credential struct {
	Salt       []byte `json:"salt"`
	Iterations int    `json:"iterations"`
	Hash       []byte `json:"hash"`
}

const pbkdf2Iterations = 200_000

// NewCredential hashes password with a fresh salt.
func NewCredential(password string) (*Credential, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return nil, err
	}
	h, err := pbkdf2.Key(sha256.New, password, salt, pbkdf2Iterations, 32)
	if err != nil {
		return nil, err
	}
	return &Credential{Salt: salt, Iterations: pbkdf2Iterations, Hash: h}, nil
}

// Verify reports whether password matches, in constant time.
func (c *Credential) Verify(password string) bool {
	if c == nil || c.Iterations <= 0 {
		return false
	}
	h, err := pbkdf2.Key(sha256.New, password, c.Salt, c.Iterations, len(c.Hash))
	if err != nil {
		return false
	}
	return subtle.ConstantTimeCompare(h, c.Hash) == 1
}
