package nat

import (
	"encoding/json"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/containernetworking/cni/pkg/types"

	"github.com/egress-router/egress-router/chain/attach"
	"github.com/egress-router/egress-router/chain/dest"
)

func mustSet(t *testing.T, lines ...string) dest.Set {
	t.Helper()
	s, err := dest.Parse("destinations", lines, "fallbackIP", "")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestBuildExactRules(t *testing.T) {
	sets, err := Build(Spec{ClusterInterface: "eth0", EgressInterface: "net1",
		Sources:      []net.IP{net.ParseIP("192.168.12.99"), net.ParseIP("fd00:12::99")},
		Destinations: mustSet(t, "80 tcp 203.0.113.5 8080", "53 udp 203.0.113.5", "80 tcp fd00:203::5 8080", "192.168.12.91")})
	if err != nil {
		t.Fatal(err)
	}
	if len(sets) != 2 || sets[0].Family != 4 || sets[1].Family != 6 {
		t.Fatalf("rulesets %+v, want IPv4 then IPv6", sets)
	}
	want4 := []string{
		"-A PREROUTING -i eth0 -j EGRESS-DNAT-net1",
		"-A POSTROUTING -o net1 -j EGRESS-SNAT-net1",
		"-A EGRESS-DNAT-net1 -p tcp -m tcp --dport 80 -j DNAT --to-destination 203.0.113.5:8080",
		"-A EGRESS-DNAT-net1 -p udp -m udp --dport 53 -j DNAT --to-destination 203.0.113.5:53",
		"-A EGRESS-DNAT-net1 -j DNAT --to-destination 192.168.12.91",
		"-A EGRESS-SNAT-net1 -j SNAT --to-source 192.168.12.99",
	}
	if got := strings.Join(sets[0].Lines(), "\n"); got != strings.Join(want4, "\n") {
		t.Errorf("IPv4 rules:\n%s\nwant:\n%s", got, strings.Join(want4, "\n"))
	}
	want6 := []string{
		"-A PREROUTING -i eth0 -j EGRESS-DNAT-net1",
		"-A POSTROUTING -o net1 -j EGRESS-SNAT-net1",
		"-A EGRESS-DNAT-net1 -p tcp -m tcp --dport 80 -j DNAT --to-destination [fd00:203::5]:8080",
		"-A EGRESS-SNAT-net1 -j SNAT --to-source fd00:12::99",
	}
	if got := strings.Join(sets[1].Lines(), "\n"); got != strings.Join(want6, "\n") {
		t.Errorf("IPv6 rules:\n%s\nwant:\n%s", got, strings.Join(want6, "\n"))
	}
}

func TestBuildErrors(t *testing.T) {
	v4 := []net.IP{net.ParseIP("192.168.12.99")}
	cases := []struct {
		name string
		spec Spec
		frag string
	}{
		{"IPv6 destination without IPv6 source", Spec{ClusterInterface: "eth0", EgressInterface: "net1", Sources: v4, Destinations: mustSet(t, "fd00::5")}, "fd00::5 is an IPv6 address"},
		{"nothing to redirect", Spec{ClusterInterface: "eth0", EgressInterface: "net1", Sources: v4}, "destinations: empty"},
		{"cluster interface is the egress one", Spec{ClusterInterface: "net1", EgressInterface: "net1", Sources: v4, Destinations: mustSet(t, "10.0.0.1")}, `clusterInterface "net1"`},
	}
	for _, c := range cases {
		_, err := Build(c.spec)
		var te *types.Error
		if !errors.As(err, &te) || te.Code != 7 || !strings.Contains(te.Msg, c.frag) {
			t.Errorf("%s: error %v, want code 7 with %q", c.name, err, c.frag)
		}
	}
	d, s := ChainNames("abcdefghijklmno")
	if len(d) > 28 || len(s) > 28 {
		t.Errorf("chain names %q %q exceed iptables' 28 characters", d, s)
	}
}

func TestOptions(t *testing.T) {
	eg := &attach.Egress{IfName: "net1", Addrs: []*net.IPNet{{IP: net.ParseIP("192.168.12.99").To4(), Mask: net.CIDRMask(24, 32)}}, Gateways: []net.IP{nil}}
	cases := []struct {
		name, json string
		lines      string // Destinations.Lines() joined by |
		err        string
	}{
		{"array", `{"destinations": ["80 tcp 10.0.0.1", "10.0.0.9"]}`, "80 tcp 10.0.0.1|10.0.0.9", ""},
		{"one string of lines", `{"destinations": "80 tcp 10.0.0.1\n# c\n10.0.0.9\n"}`, "80 tcp 10.0.0.1|10.0.0.9", ""},
		{"fallbackIP only", `{"fallbackIP": "10.0.0.9"}`, "10.0.0.9", ""},
		{"nothing", `{}`, "", "destinations: empty"},
		{"bad source", `{"destinations": ["10.0.0.9"], "source": "nope"}`, "", `source "nope"`},
		{"bad cluster interface", `{"destinations": ["10.0.0.9"], "clusterInterface": "a/b"}`, "", `clusterInterface "a/b"`},
		{"long cluster interface", `{"destinations": ["10.0.0.9"], "clusterInterface": "abcdefghijklmnop"}`, "", "1-15 characters"},
	}
	for _, c := range cases {
		var o Options
		if err := json.Unmarshal([]byte(c.json), &o); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		p, err := o.Parse()
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: error %v, want %q", c.name, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := strings.Join(p.Destinations.Lines(), "|"); got != c.lines {
			t.Errorf("%s: destinations %q, want %q", c.name, got, c.lines)
		}
		if p.ClusterInterface != "eth0" {
			t.Errorf("%s: clusterInterface default %q", c.name, p.ClusterInterface)
		}
		spec, err := p.Spec(eg)
		if err != nil || spec.Sources[0].String() != "192.168.12.99" {
			t.Errorf("%s: spec sources %v, %v", c.name, spec.Sources, err)
		}
	}
	var o Options
	if err := json.Unmarshal([]byte(`{"destinations": 5}`), &o); err == nil {
		t.Errorf("a number for destinations was accepted")
	}
}
