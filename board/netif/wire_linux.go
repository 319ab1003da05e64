//go:build linux

package netif

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv4/nclient4"
	"golang.org/x/sys/unix"
)

// ncWire is dhcpWire over nclient4. DISCOVER and REBIND go through a raw
// AF_PACKET socket (the interface may have no address yet); that socket
// has no BPF filter and copies every IPv4 frame into the process, so it
// lives only for one exchange. RENEW goes by unicast over a plain UDP
// socket from the leased address, as RFC 2131 §4.4.5 asks.
type ncWire struct {
	iface    string
	hostname string
}

// Each exchange sends up to three times, 2, 4 and 8 s apart.
var ncOpts = []nclient4.ClientOpt{nclient4.WithTimeout(2 * time.Second), nclient4.WithRetry(3)}

func (w *ncWire) mods(hint netip.Addr) []dhcpv4.Modifier {
	var mods []dhcpv4.Modifier
	if w.hostname != "" {
		mods = append(mods, dhcpv4.WithOption(dhcpv4.OptHostName(w.hostname)))
	}
	// DNS servers (6) and NTP servers (42): servers send an option only
	// when asked for it (RFC 2132 §9.8).
	mods = append(mods, dhcpv4.WithRequestedOptions(dhcpv4.OptionDomainNameServer, dhcpv4.OptionNTPServers))
	if hint.IsValid() {
		mods = append(mods, dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(hint.AsSlice())))
	}
	return mods
}

func (w *ncWire) Acquire(ctx context.Context, hint netip.Addr) (*Lease, error) {
	c, err := nclient4.New(w.iface, ncOpts...)
	if err != nil {
		return nil, fmt.Errorf("DHCP on %s: %w", w.iface, err)
	}
	defer c.Close()
	l, err := c.Request(ctx, w.mods(hint)...)
	if err != nil {
		return nil, nakOr(err)
	}
	return toLease(l)
}

func (w *ncWire) Renew(ctx context.Context, l *Lease) (*Lease, error) {
	raw, _ := l.raw.(*nclient4.Lease)
	if raw == nil || !l.Server.IsValid() {
		return nil, errors.New("renew: lease has no server")
	}
	// Bound to the wildcard address, not the leased one: the ACK comes by
	// unicast, but a NAK is broadcast (RFC 2131 §4.3.2), and a socket
	// bound to a unicast address never sees broadcasts. SO_BINDTODEVICE
	// keeps it to this interface; SO_REUSEADDR lets the VLAN's client
	// renew at the same moment.
	conn, err := w.listen68()
	if err != nil {
		return nil, fmt.Errorf("DHCP renew on %s: %w", w.iface, err)
	}
	ifi, err := net.InterfaceByName(w.iface)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("DHCP renew on %s: %w", w.iface, err)
	}
	c, err := nclient4.NewWithConn(conn, ifi.HardwareAddr, append(ncOpts,
		nclient4.WithServerAddr(&net.UDPAddr{IP: l.Server.AsSlice(), Port: nclient4.ServerPort}))...)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("DHCP renew on %s: %w", w.iface, err)
	}
	defer c.Close()
	nl, err := c.Renew(ctx, raw, w.mods(netip.Addr{})...)
	if err != nil {
		return nil, nakOr(err)
	}
	return toLease(nl)
}

func (w *ncWire) Rebind(ctx context.Context, l *Lease) (*Lease, error) {
	raw, _ := l.raw.(*nclient4.Lease)
	if raw == nil {
		return nil, errors.New("rebind: no lease")
	}
	c, err := nclient4.New(w.iface, ncOpts...)
	if err != nil {
		return nil, fmt.Errorf("DHCP rebind on %s: %w", w.iface, err)
	}
	defer c.Close()
	// The same REQUEST as a renewal (ciaddr set, no server identifier),
	// broadcast: any server may answer (RFC 2131 §4.4.5).
	req, err := dhcpv4.NewRenewFromAck(raw.ACK, w.mods(netip.Addr{})...)
	if err != nil {
		return nil, fmt.Errorf("rebind: %w", err)
	}
	ack, err := c.SendAndRead(ctx, nclient4.DefaultServers, req, nclient4.IsMessageType(dhcpv4.MessageTypeAck, dhcpv4.MessageTypeNak))
	if err != nil {
		return nil, fmt.Errorf("rebind: %w", err)
	}
	if ack.MessageType() == dhcpv4.MessageTypeNak {
		return nil, ErrNAK
	}
	return toLease(&nclient4.Lease{Offer: raw.Offer, ACK: ack, CreationTime: time.Now()})
}

// listen68 opens the DHCP client port on the wildcard address, for this
// interface only.
func (w *ncWire) listen68() (net.PacketConn, error) {
	lc := net.ListenConfig{Control: func(network, address string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			if serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); serr == nil {
				serr = unix.BindToDevice(int(fd), w.iface)
			}
		})
		if err != nil {
			return err
		}
		return serr
	}}
	return lc.ListenPacket(context.Background(), "udp4", fmt.Sprintf("0.0.0.0:%d", nclient4.ClientPort))
}

func nakOr(err error) error {
	var nak *nclient4.ErrNak
	if errors.As(err, &nak) {
		return fmt.Errorf("%w: %s", ErrNAK, nak.Nak.Message())
	}
	return err
}

func toLease(l *nclient4.Lease) (*Lease, error) {
	ack := l.ACK
	ip, ok := netip.AddrFromSlice(ack.YourIPAddr.To4())
	mask := ack.SubnetMask()
	if !ok || mask == nil {
		return nil, fmt.Errorf("DHCP ACK without address or subnet mask (yiaddr %s)", ack.YourIPAddr)
	}
	bits, _ := mask.Size()
	out := &Lease{Addr: netip.PrefixFrom(ip, bits), Acquired: time.Now(), raw: l}
	if r := ack.Router(); len(r) > 0 {
		out.Router, _ = netip.AddrFromSlice(r[0].To4())
	}
	out.Server, _ = netip.AddrFromSlice(ack.ServerIdentifier().To4())
	for _, d := range ack.DNS() {
		if a, ok := netip.AddrFromSlice(d.To4()); ok {
			out.DNS = append(out.DNS, a)
		}
	}
	for _, n := range ack.NTPServers() {
		if a, ok := netip.AddrFromSlice(n.To4()); ok {
			out.NTP = append(out.NTP, a)
		}
	}
	out.Time, out.T1, out.T2 = leaseTimes(ack.IPAddressLeaseTime(0), ack.IPAddressRenewalTime(0), ack.IPAddressRebindingTime(0))
	return out, nil
}
