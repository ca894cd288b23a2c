package netx

import (
	"net"
	"testing"
)

func TestFamily(t *testing.T) {
	for _, c := range []struct {
		ip     string
		fam    Family
		name   string
		host   string
		defNet string
	}{
		{"192.168.12.99", V4, "IPv4", "192.168.12.99/32", "0.0.0.0/0"},
		{"::ffff:192.168.12.99", V4, "IPv4", "192.168.12.99/32", "0.0.0.0/0"},
		{"fd00:12::99", V6, "IPv6", "fd00:12::99/128", "::/0"},
	} {
		ip := net.ParseIP(c.ip)
		if f := FamilyOf(ip); f != c.fam || f.String() != c.name {
			t.Errorf("%s: family %d %s, want %d %s", c.ip, f, f, c.fam, c.name)
		}
		if got := HostNet(ip).String(); got != c.host {
			t.Errorf("%s: host net %s, want %s", c.ip, got, c.host)
		}
		if got := DefaultNet(c.fam); got.String() != c.defNet || !IsDefault(got) {
			t.Errorf("%s: default %s, want %s", c.ip, got, c.defNet)
		}
	}
	if V4.Netlink() == V6.Netlink() || V4.Bits() != 32 || V6.Bits() != 128 {
		t.Errorf("netlink families %d %d, bits %d %d", V4.Netlink(), V6.Netlink(), V4.Bits(), V6.Bits())
	}
	if IsDefault(HostNet(net.ParseIP("10.0.0.1"))) || !IsDefault(nil) {
		t.Error("IsDefault")
	}
	if len(Canonical(net.ParseIP("10.0.0.1"))) != 4 || len(Canonical(net.ParseIP("fd00::1"))) != 16 {
		t.Error("Canonical")
	}
}

// TestFamilyForms: every spelling of an IPv4 address is IPv4.
func TestFamilyForms(t *testing.T) {
	families := []struct {
		ip   net.IP
		want Family
	}{
		{net.ParseIP("10.1.0.1"), 4},          // 16-byte form
		{net.ParseIP("10.1.0.1").To4(), 4},    // 4-byte form
		{net.ParseIP("::ffff:10.1.0.1"), 4},   // IPv4-mapped
		{net.ParseIP("2001:db8::1"), 6},       // IPv6
		{net.ParseIP("::1"), 6},               // loopback
		{net.ParseIP("64:ff9b::10.1.0.1"), 6}, // NAT64 prefix is IPv6
	}
	for _, f := range families {
		if got := FamilyOf(f.ip); got != f.want {
			t.Errorf("FamilyOf(%s) = %d, want %d", f.ip, got, f.want)
		}
	}
}

func TestOpenPodIfThere(t *testing.T) {
	if pod, err := OpenPodIfThere(""); pod != nil || err != nil {
		t.Errorf("empty CNI_NETNS: %v %v", pod, err)
	}
	if pod, err := OpenPodIfThere("/var/run/netns/egress-no-such-ns"); pod != nil || err != nil {
		t.Errorf("missing netns: %v %v", pod, err)
	}
	if _, err := OpenPod("/var/run/netns/egress-no-such-ns"); err == nil {
		t.Error("OpenPod of a missing netns succeeded")
	}
}
