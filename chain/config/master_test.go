package config

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/containernetworking/plugins/pkg/testutils"
	"github.com/vishvananda/netlink"
)

// findMaster's inference, in a netns of its own: the parent when known,
// the one link on the egress subnet (an address on lo does not count),
// the default-route link, and an error naming both links when two are on
// the subnet.
func TestFindMaster(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("integration tests need root (network namespaces); run make test as root")
	}
	n, err := testutils.NewNS()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = n.Close(); _ = testutils.UnmountNS(n) }()
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", append([]string{"-n", filepath.Base(n.Path())}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v: %s", args, err, out)
		}
	}
	ip("link", "set", "lo", "up")
	ip("addr", "add", "192.168.12.5/24", "dev", "lo")
	ip("link", "add", "ext0", "type", "veth", "peer", "name", "ext0p")
	ip("link", "add", "up0", "type", "veth", "peer", "name", "up0p")
	for _, l := range []string{"ext0", "ext0p", "up0", "up0p"} {
		ip("link", "set", l, "up")
	}
	ip("addr", "add", "192.168.12.2/24", "dev", "ext0")
	ip("addr", "add", "10.0.0.2/24", "dev", "up0")
	ip("route", "add", "default", "via", "10.0.0.1")
	cidr := func(s string) []*net.IPNet {
		i, c, _ := net.ParseCIDR(s)
		c.IP = i
		return []*net.IPNet{c}
	}
	find := func(parent int, addr string) (*masterLink, error) {
		var m *masterLink
		err := n.Do(func(ns.NetNS) error {
			return onNode(func(h netlinksafe.Handle, have []netlink.Addr) (err error) {
				m, err = findMaster(h, have, parent, cidr(addr))
				return err
			})
		})
		return m, err
	}
	for _, c := range []struct {
		addr, link, how string
	}{
		{"192.168.12.99/24", "ext0", "host link on the egress subnet"},
		{"172.16.0.9/24", "up0", "host default-route link"},
	} {
		m, err := find(0, c.addr)
		if err != nil || m.Link != c.link || m.How != c.how {
			t.Errorf("%s: %+v, %v; want %s (%s)", c.addr, m, err, c.link, c.how)
		}
	}
	var up0 netlink.Link
	_ = n.Do(func(ns.NetNS) (err error) { up0, err = netlink.LinkByName("up0"); return err })
	if m, err := find(up0.Attrs().Index, "192.168.12.99/24"); err != nil || m.Link != "up0" || m.How != "parent of the egress link" {
		t.Errorf("known parent: %+v, %v; want up0", m, err)
	}
	if m, err := find(0, "192.168.12.99/24"); err != nil || len(m.IPs) != 1 || !m.IPs[0].Equal(net.ParseIP("192.168.12.2")) {
		t.Errorf("ext0's addresses: %+v, %v; want 192.168.12.2", m, err)
	}
	ip("addr", "add", "192.168.12.3/24", "dev", "up0")
	_, err = find(0, "192.168.12.99/24")
	if err == nil || !strings.Contains(err.Error(), "ext0") || !strings.Contains(err.Error(), "up0") {
		t.Errorf("two links on the subnet: %v; want an error naming ext0 and up0", err)
	}
}
