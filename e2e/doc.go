// Package e2e holds end-to-end tests: the real pnpd and phonesim binaries
// on a LAN made of network namespaces, with real multicast. They need root
// (CI runs as root and there they must not skip; elsewhere they skip).
package e2e
