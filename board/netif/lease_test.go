package netif

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestWriteResolvConf(t *testing.T) {
	dir := t.TempDir()
	// The box's layout: /etc/resolv.conf -> ../run/resolv.conf, the
	// target not there yet at first boot.
	os.MkdirAll(filepath.Join(dir, "etc"), 0o755)
	os.MkdirAll(filepath.Join(dir, "run"), 0o755)
	link := filepath.Join(dir, "etc", "resolv.conf")
	if err := os.Symlink("../run/resolv.conf", link); err != nil {
		t.Fatal(err)
	}
	servers := []netip.Addr{netip.MustParseAddr("198.18.0.1"), netip.MustParseAddr("198.18.0.2"),
		netip.MustParseAddr("198.18.0.3"), netip.MustParseAddr("198.18.0.4")}
	for range 2 { // the second write finds it unchanged
		if err := writeResolvConf(link, servers); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(filepath.Join(dir, "run", "resolv.conf"))
	if err != nil {
		t.Fatal(err)
	}
	want := "# written by pnpd from the DHCP lease\nnameserver 198.18.0.1\nnameserver 198.18.0.2\nnameserver 198.18.0.3\n"
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("resolv.conf (-want +got)\n%s", diff)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the symlink was replaced: %v %v", fi, err)
	}
	if err := writeResolvConf(link, servers[3:]); err != nil {
		t.Fatal(err)
	}
	got, _ = os.ReadFile(link)
	if diff := cmp.Diff("# written by pnpd from the DHCP lease\nnameserver 198.18.0.4\n", string(got)); diff != "" {
		t.Errorf("after a new lease (-want +got)\n%s", diff)
	}
}
