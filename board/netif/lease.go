package netif

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
)

// Lease returns the DHCP lease the named interface holds, or nil (no
// lease yet, or not -net dhcp). The Lease is shared: do not modify it.
func (m *Manager) Lease(name string) *Lease {
	m.mu.Lock()
	c := m.clients[name]
	m.mu.Unlock()
	if c == nil {
		return nil
	}
	return c.current()
}

// primaryLease takes each new or renewed lease of the primary interface:
// its DNS servers go to Config.ResolvConf.
func (m *Manager) primaryLease(l *Lease) {
	if m.cfg.ResolvConf == "" || len(l.DNS) == 0 {
		return
	}
	if err := writeResolvConf(m.cfg.ResolvConf, l.DNS); err != nil {
		m.log.Warn("DHCP: write the DNS servers", "path", m.cfg.ResolvConf, "err", err)
	}
}

// resolvConf is the file's text for servers (resolv.conf(5)); glibc and
// Go's resolver read at most three nameserver lines.
func resolvConf(servers []netip.Addr) []byte {
	var b strings.Builder
	b.WriteString("# written by pnpd from the DHCP lease\n")
	for i, s := range servers {
		if i == 3 {
			break
		}
		fmt.Fprintf(&b, "nameserver %s\n", s)
	}
	return []byte(b.String())
}

// writeResolvConf replaces path (the file a symlink there points to,
// so a read-only /etc with a link into /run works) atomically: readers
// see the old file or the new one, never half of one. Unchanged content
// is not written again.
func writeResolvConf(path string, servers []netip.Addr) error {
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
	} else if target, lerr := os.Readlink(path); lerr == nil {
		// A dangling link (/run/resolv.conf not there yet): its target.
		if !filepath.IsAbs(target) {
			target = filepath.Join(filepath.Dir(path), target)
		}
		path = target
	}
	data := resolvConf(servers)
	if old, err := os.ReadFile(path); err == nil && string(old) == string(data) {
		return nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".resolv.conf-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
