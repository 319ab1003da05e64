// Package netnstest builds small LANs out of network namespaces for
// tests: named namespaces (so programs can run inside with `ip netns
// exec`), veth cables between them, and Do, which runs Go code inside one
// so the sockets it opens live there. Everything is removed when the test
// ends, failed or not.
//
// These tests need root. Require skips them for an ordinary user on a
// laptop, and fails them when the environment variable CI is set: CI runs
// as root, so a missing privilege or tool there is a broken setup, not a
// reason to pass.
//
//	netnstest.Require(t, "dnsmasq")
//	box, lan := netnstest.New(t, "box"), netnstest.New(t, "lan")
//	netnstest.Cable(t, box, "lan0", lan, "peer0")
//	lan.IP(t, "addr", "add", "198.18.0.1/24", "dev", "peer0")
//	cmd := box.Command("pnpd", "-iface", "lan0")
//	conn, err := netnstest.Do(lan, func() (*net.UDPConn, error) { return net.ListenUDP("udp4", nil) })
//
// It exists on Linux only; elsewhere the package is empty, so code that
// imports it from linux-only tests still vets on other systems.
package netnstest
