//go:build linux

package netif

import "github.com/vishvananda/netlink"

// subscribeFunc starts link and address subscriptions that close their
// channels on error and stop when done is closed.
type subscribeFunc func(links chan netlink.LinkUpdate, addrs chan netlink.AddrUpdate, done chan struct{}) error
