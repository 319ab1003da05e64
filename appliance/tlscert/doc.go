// Package tlscert keeps the box's TLS certificate: a self-signed ECDSA
// P-256 certificate made on first start, or one an installer uploaded,
// stored with its key in one PEM file in the data directory so that the
// pair always changes together. Its SHA-256 fingerprint is what an
// installer compares with the one the box shows before trusting it.
package tlscert
