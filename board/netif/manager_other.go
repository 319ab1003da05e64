//go:build !linux

package netif

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"
)

// Setup checks the interfaces exist; only ModeNone works off Linux.
func (m *Manager) Setup(ctx context.Context) error {
	if m.cfg.Mode != ModeNone || m.cfg.VLAN != 0 {
		return fmt.Errorf("mode %s and VLANs need Linux: %w", m.cfg.Mode, errors.ErrUnsupported)
	}
	if _, err := net.InterfaceByName(m.cfg.Iface); err != nil {
		return fmt.Errorf("interface %s: %w", m.cfg.Iface, err)
	}
	m.refresh()
	return nil
}

// Run polls the interfaces every 2 s (no netlink here) until ctx is done.
func (m *Manager) Run(ctx context.Context) error {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		m.refresh()
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-m.poke:
		}
	}
}

func (m *Manager) refresh() {
	var states []State
	for _, name := range m.names {
		s := State{Name: name}
		if ni, err := net.InterfaceByName(name); err == nil {
			s.Index = ni.Index
			s.Up = ni.Flags&net.FlagUp != 0
			s.Carrier = ni.Flags&net.FlagRunning != 0
			s.Loopback = ni.Flags&net.FlagLoopback != 0
			addrs, _ := ni.Addrs()
			for _, a := range addrs {
				if n, ok := a.(*net.IPNet); ok {
					if p, ok := toPrefix(n); ok {
						s.Prefixes = append(s.Prefixes, p)
					}
				}
			}
		}
		states = append(states, s)
	}
	m.publish(states)
}
