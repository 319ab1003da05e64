//go:build qemu && linux

package qemu

import (
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"testing"

	"github.com/pnpbox/pnpbox/internal/netnstest"
	"golang.org/x/sys/unix"
)

// vlanSwitch is the switch port the VM is plugged into: a trunk carrying
// the LAN untagged and one voice VLAN tagged (IEEE 802.1Q). The machine
// running the tests has no 802.1Q in its kernel (no VLAN devices, no
// bridge VLAN filtering), so the tagging is done here: QEMU's NIC sends
// and receives raw Ethernet frames as UDP datagrams (-netdev socket),
// untagged frames go to and come from the tap "untagged", frames of VLAN
// vid lose their tag to the tap "voice" and frames from it gain one.
// Anything else is dropped, as a switch port with that configuration
// would.
type vlanSwitch struct {
	vm            *net.UDPConn // QEMU's end: the datagrams are frames
	qemu          *net.UDPAddr // where QEMU listens
	untagged, vid *os.File
	id            uint16
}

// newVLANSwitch creates the taps untaggedName and voiceName in ns and the
// UDP socket QEMU talks to (127.0.0.1 in ns), and returns the switch and
// QEMU's -netdev socket arguments.
func newVLANSwitch(t *testing.T, ns *netnstest.NS, untaggedName, voiceName string, vid uint16) (*vlanSwitch, string) {
	t.Helper()
	s := &vlanSwitch{id: vid}
	var err error
	for _, tap := range []struct {
		name string
		f    **os.File
	}{{untaggedName, &s.untagged}, {voiceName, &s.vid}} {
		*tap.f, err = netnstest.Do(ns, func() (*os.File, error) { return openTap(tap.name) })
		if err != nil {
			t.Fatalf("tap %s: %v", tap.name, err)
		}
	}
	s.vm, err = netnstest.Do(ns, func() (*net.UDPConn, error) { return net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}) })
	if err != nil {
		t.Fatal(err)
	}
	qemuPort, err := netnstest.Do(ns, func() (int, error) {
		// A free port for QEMU's end.
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			return 0, err
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	s.qemu = &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: qemuPort}
	t.Cleanup(func() { s.vm.Close(); s.untagged.Close(); s.vid.Close() })
	go s.fromVM()
	go s.fromTap(s.untagged, false)
	go s.fromTap(s.vid, true)
	return s, fmt.Sprintf("socket,id=n0,udp=%s,localaddr=%s", s.vm.LocalAddr(), s.qemu)
}

// openTap creates (or attaches to) the tap device name in the calling
// thread's network namespace; frames are read and written whole, with no
// packet-information header.
func openTap(name string) (*os.File, error) {
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	ifr.SetUint16(unix.IFF_TAP | unix.IFF_NO_PI)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("TUNSETIFF: %w", err)
	}
	return os.NewFile(uintptr(fd), "/dev/net/tun:"+name), nil
}

const tpid = 0x8100 // 802.1Q tag protocol identifier

func (s *vlanSwitch) fromVM() {
	buf := make([]byte, 65536)
	for {
		n, _, err := s.vm.ReadFromUDP(buf)
		if err != nil {
			return
		}
		f := buf[:n]
		if len(f) < 14 {
			continue
		}
		if binary.BigEndian.Uint16(f[12:14]) != tpid {
			s.untagged.Write(f)
			continue
		}
		if len(f) < 18 || binary.BigEndian.Uint16(f[14:16])&0x0fff != s.id {
			continue
		}
		// Remove the 4-byte tag: addresses, then the inner EtherType on.
		out := make([]byte, 0, n-4)
		out = append(append(out, f[:12]...), f[16:]...)
		s.vid.Write(out)
	}
}

func (s *vlanSwitch) fromTap(tap *os.File, tagged bool) {
	buf := make([]byte, 65536)
	for {
		n, err := tap.Read(buf)
		if err != nil {
			return
		}
		f := buf[:n]
		if tagged {
			if n < 14 {
				continue
			}
			out := make([]byte, 0, n+4)
			out = append(out, f[:12]...)
			out = binary.BigEndian.AppendUint16(out, tpid)
			out = binary.BigEndian.AppendUint16(out, s.id) // priority 0
			f = append(out, f[12:]...)
		}
		s.vm.WriteToUDP(f, s.qemu)
	}
}
