package main

import (
	"fmt"
	"net"
)

// hostnameFor is the box's name on the LAN: "pnpbox-" and the last four
// hex digits of the MAC, lower case (pnpbox-3a4f). The image's
// /etc/init.d/S10system sets the same from eth0, so the console prompt
// and the name sent in DHCP (option 12) agree, and two boxes on one LAN
// never share a name. Without a 6-byte MAC it is plain "pnpbox".
func hostnameFor(mac net.HardwareAddr) string {
	if len(mac) != 6 {
		return "pnpbox"
	}
	return fmt.Sprintf("pnpbox-%02x%02x", mac[4], mac[5])
}

// boxHostname is hostnameFor the named interface's MAC.
func boxHostname(ifname string) string {
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return "pnpbox"
	}
	return hostnameFor(ifi.HardwareAddr)
}
