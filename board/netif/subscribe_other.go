//go:build !linux

package netif

type subscribeFunc func()
