//go:build !linux

// Package netnstest builds small LANs out of network namespaces for
// tests; it exists on Linux only.
package netnstest
