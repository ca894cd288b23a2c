package nat

import (
	"encoding/json"
	"net"
	"strings"
	"testing"

	"github.com/egress-router/egress-router/chain/attach"
	"github.com/egress-router/egress-router/chain/cnierr"
	"github.com/egress-router/egress-router/chain/cnierr/cnierrtest"
	"github.com/egress-router/egress-router/chain/dest"
)

// parseDest parses destination lines plus an optional fallbackIP.
func parseDest(t *testing.T, fallbackIP string, lines ...string) dest.Set {
	t.Helper()
	s, err := dest.Parse("destinations", lines, "fallbackIP", fallbackIP)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func ips(ss ...string) []net.IP {
	var out []net.IP
	for _, s := range ss {
		out = append(out, net.ParseIP(s))
	}
	return out
}

func TestBuildRuleSpecs(t *testing.T) {
	cases := []struct {
		name     string
		spec     Spec
		families []Family
		want     [][]string // Lines() of each ruleset
	}{
		{
			name: "IPv4 operator config",
			spec: Spec{ClusterInterface: "eth0", EgressInterface: "net1",
				Sources:      ips("192.168.12.100", "192.168.12.101"),
				Destinations: parseDest(t, "192.168.12.99", "80 UDP 10.0.0.99", "8080 TCP 203.0.113.26 80", "8443 TCP 203.0.113.27 443", "2905 sctp 203.0.113.28")},
			families: []Family{4},
			want: [][]string{{
				"-A PREROUTING -i eth0 -j EGRESS-DNAT-net1",
				"-A POSTROUTING -o net1 -j EGRESS-SNAT-net1",
				"-A EGRESS-DNAT-net1 -p udp -m udp --dport 80 -j DNAT --to-destination 10.0.0.99:80",
				"-A EGRESS-DNAT-net1 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 203.0.113.26:80",
				"-A EGRESS-DNAT-net1 -p tcp -m tcp --dport 8443 -j DNAT --to-destination 203.0.113.27:443",
				"-A EGRESS-DNAT-net1 -p sctp -m sctp --dport 2905 -j DNAT --to-destination 203.0.113.28:2905",
				"-A EGRESS-DNAT-net1 -j DNAT --to-destination 192.168.12.99",
				"-A EGRESS-SNAT-net1 -j SNAT --to-source 192.168.12.100",
			}},
		},
		{
			name: "fallback only, first IPv4 source after an IPv6 one",
			spec: Spec{ClusterInterface: "ens3", EgressInterface: "macvlan0",
				Sources:      ips("fd00:12::99", "192.168.12.100", "192.168.12.101"),
				Destinations: parseDest(t, "", "203.0.113.9")},
			families: []Family{4},
			want: [][]string{{
				"-A PREROUTING -i ens3 -j EGRESS-DNAT-macvlan0",
				"-A POSTROUTING -o macvlan0 -j EGRESS-SNAT-macvlan0",
				"-A EGRESS-DNAT-macvlan0 -j DNAT --to-destination 203.0.113.9",
				"-A EGRESS-SNAT-macvlan0 -j SNAT --to-source 192.168.12.100",
			}},
		},
		{
			name: "IPv6 destination with remote port",
			spec: Spec{ClusterInterface: "eth0", EgressInterface: "net1",
				Sources:      ips("192.168.12.100", "fd00:12::99"),
				Destinations: parseDest(t, "", "80 tcp fd00:203::5 8080", "53 udp fd00:203::53")},
			families: []Family{6},
			want: [][]string{{
				"-A PREROUTING -i eth0 -j EGRESS-DNAT-net1",
				"-A POSTROUTING -o net1 -j EGRESS-SNAT-net1",
				"-A EGRESS-DNAT-net1 -p tcp -m tcp --dport 80 -j DNAT --to-destination [fd00:203::5]:8080",
				"-A EGRESS-DNAT-net1 -p udp -m udp --dport 53 -j DNAT --to-destination [fd00:203::53]:53",
				"-A EGRESS-SNAT-net1 -j SNAT --to-source fd00:12::99",
			}},
		},
		{
			name: "dual stack listed IPv6 first",
			spec: Spec{ClusterInterface: "eth0", EgressInterface: "net1",
				Sources:      ips("fd00:12::99", "192.168.12.100"),
				Destinations: parseDest(t, "", "443 tcp fd00:203::5", "443 tcp 203.0.113.5 8443", "fd00:203::9", "203.0.113.9")},
			families: []Family{4, 6},
			want: [][]string{{
				"-A PREROUTING -i eth0 -j EGRESS-DNAT-net1",
				"-A POSTROUTING -o net1 -j EGRESS-SNAT-net1",
				"-A EGRESS-DNAT-net1 -p tcp -m tcp --dport 443 -j DNAT --to-destination 203.0.113.5:8443",
				"-A EGRESS-DNAT-net1 -j DNAT --to-destination 203.0.113.9",
				"-A EGRESS-SNAT-net1 -j SNAT --to-source 192.168.12.100",
			}, {
				"-A PREROUTING -i eth0 -j EGRESS-DNAT-net1",
				"-A POSTROUTING -o net1 -j EGRESS-SNAT-net1",
				"-A EGRESS-DNAT-net1 -p tcp -m tcp --dport 443 -j DNAT --to-destination [fd00:203::5]:443",
				"-A EGRESS-DNAT-net1 -j DNAT --to-destination fd00:203::9",
				"-A EGRESS-SNAT-net1 -j SNAT --to-source fd00:12::99",
			}},
		},
	}
	for _, c := range cases {
		sets, err := Build(c.spec)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if len(sets) != len(c.families) || len(c.want) != len(c.families) {
			t.Errorf("%s: %d rulesets, want %d", c.name, len(sets), len(c.families))
			continue
		}
		dnat, snat := ChainNames(c.spec.EgressInterface)
		for i, rs := range sets {
			wantFamily := c.families[i]
			if rs.Family != wantFamily || rs.DNATChain != dnat || rs.SNATChain != snat {
				t.Errorf("%s: ruleset %d is family %d with chains %s %s, want %d %s %s", c.name, i, rs.Family, rs.DNATChain, rs.SNATChain, wantFamily, dnat, snat)
			}
			if got, want := strings.Join(rs.Lines(), "\n"), strings.Join(c.want[i], "\n"); got != want {
				t.Errorf("%s: ruleset %d:\n%s\nwant:\n%s", c.name, i, got, want)
			}
		}
	}
}

func TestBuildRejects(t *testing.T) {
	cases := []struct {
		name string
		spec Spec
		frag []string
	}{
		{"IPv6 destination, IPv4 source only",
			Spec{ClusterInterface: "eth0", EgressInterface: "net1", Sources: ips("192.168.12.100"), Destinations: parseDest(t, "", "80 tcp 203.0.113.5", "80 tcp fd00:203::5 8080")},
			[]string{"destinations: fd00:203::5 is an IPv6 address", `egress interface "net1" has no IPv6 source address`}},
		{"IPv6 fallback, IPv4 source only",
			Spec{ClusterInterface: "eth0", EgressInterface: "net1", Sources: ips("192.168.12.100"), Destinations: parseDest(t, "fd00:203::9")},
			[]string{"fd00:203::9 is an IPv6 address"}},
		{"IPv4 destination, IPv6 source only",
			Spec{ClusterInterface: "eth0", EgressInterface: "net1", Sources: ips("fd00:12::99"), Destinations: parseDest(t, "", "203.0.113.9")},
			[]string{"203.0.113.9 is an IPv4 address", "no IPv4 source address"}},
		{"no source at all",
			Spec{ClusterInterface: "eth0", EgressInterface: "net1", Destinations: parseDest(t, "", "203.0.113.9")},
			[]string{"203.0.113.9 is an IPv4 address"}},
		{"empty destinations",
			Spec{ClusterInterface: "eth0", EgressInterface: "net1", Sources: ips("192.168.12.100")},
			[]string{"destinations: empty"}},
		{"cluster interface is the egress interface",
			Spec{ClusterInterface: "net1", EgressInterface: "net1", Sources: ips("192.168.12.100"), Destinations: parseDest(t, "", "203.0.113.9")},
			[]string{`clusterInterface "net1" is the egress interface itself`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sets, err := Build(c.spec)
			if err == nil {
				t.Fatalf("no error; rulesets %+v", sets)
			}
			cnierrtest.Want(t, err, 7, c.frag...)
			if sets != nil {
				t.Errorf("rulesets %+v returned with the error", sets)
			}
		})
	}
}

func TestChainNames(t *testing.T) {
	cases := []struct{ ifName, dnat, snat string }{
		{"net1", "EGRESS-DNAT-net1", "EGRESS-SNAT-net1"},
		{"abcdefghijklmno", "EGRESS-DNAT-abcdefghijklmno", "EGRESS-SNAT-abcdefghijklmno"},
	}
	for _, c := range cases {
		d, s := ChainNames(c.ifName)
		if d != c.dnat || s != c.snat {
			t.Errorf("ChainNames(%q) = %q, %q, want %q, %q", c.ifName, d, s, c.dnat, c.snat)
		}
		if len(d) > 28 || len(s) > 28 {
			t.Errorf("ChainNames(%q) = %q, %q: longer than iptables' 28 characters", c.ifName, d, s)
		}
	}
}

// TestOptionsJSON decodes egress-nat's fields as the plugin does and
// validates them.
func TestOptionsJSON(t *testing.T) {
	cases := []struct {
		name    string
		json    string
		lines   string // Destinations.Lines() joined by "|"
		cluster string
		source  string // Parsed.Source; "<nil>" when unset
		err     []string
	}{
		{name: "array", json: `{"destinations": ["80 tcp 10.0.0.1", "10.0.0.9"]}`,
			lines: "80 tcp 10.0.0.1|10.0.0.9", cluster: "eth0", source: "<nil>"},
		{name: "one multi-line string", json: `{"destinations": "80 tcp 10.0.0.1\n# comment\n8080 TCP 10.0.0.2 80\n10.0.0.9\n"}`,
			lines: "80 tcp 10.0.0.1|8080 tcp 10.0.0.2 80|10.0.0.9", cluster: "eth0", source: "<nil>"},
		{name: "operator fields", json: `{"destinations": ["80 UDP 10.0.0.99", "8080 TCP 203.0.113.26 80"], "fallbackIP": "192.168.12.99", "clusterInterface": "ens3"}`,
			lines: "80 udp 10.0.0.99|8080 tcp 203.0.113.26 80|192.168.12.99", cluster: "ens3", source: "<nil>"},
		{name: "source with white space", json: `{"fallbackIP": "10.0.0.9", "source": " 192.168.12.100 "}`,
			lines: "10.0.0.9", cluster: "eth0", source: "192.168.12.100"},
		{name: "IPv6 source", json: `{"destinations": "fd00::9", "source": "fd00:12::99"}`,
			lines: "fd00::9", cluster: "eth0", source: "fd00:12::99"},

		{name: "number for destinations", json: `{"destinations": 5}`,
			err: []string{"destinations: want a string or an array of strings, got 5"}},
		{name: "array of numbers for destinations", json: `{"destinations": [80, 443]}`,
			err: []string{"destinations: want a string or an array of strings"}},
		{name: "invalid source", json: `{"destinations": ["10.0.0.9"], "source": "192.168.12.x"}`,
			err: []string{`source "192.168.12.x" is not an IP address`}},
		{name: "cluster interface with a slash", json: `{"destinations": ["10.0.0.9"], "clusterInterface": "a/b"}`,
			err: []string{`clusterInterface "a/b" is not a valid interface name`}},
		{name: "cluster interface of 16 characters", json: `{"destinations": ["10.0.0.9"], "clusterInterface": "abcdefghijklmnop"}`,
			err: []string{`clusterInterface "abcdefghijklmnop"`, "1-15 characters"}},
		{name: "bad destination line", json: `{"destinations": ["80 tcp 10.0.0.1", "80 tcp 10.0.0.2"]}`,
			err: []string{`destinations[1] "80 tcp 10.0.0.2"`, "already used"}},
		{name: "bad fallbackIP", json: `{"fallbackIP": "10.0.0.0/8"}`,
			err: []string{`fallbackIP "10.0.0.0/8"`}},
		{name: "no destinations", json: `{"clusterInterface": "eth0"}`,
			err: []string{"destinations: empty"}},
		{name: "only comments", json: `{"destinations": "# none yet\n"}`,
			err: []string{"destinations: empty"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var o Options
			// cnierr.Unmarshal is how the plugin reads its config; a
			// field of the wrong type is an invalid config (code 7).
			err := cnierr.Unmarshal([]byte(c.json), &o)
			var p *Parsed
			if err == nil {
				p, err = o.Parse()
			}
			if c.err != nil {
				if err == nil {
					t.Fatalf("no error; parsed %+v", p)
				}
				cnierrtest.Want(t, err, 7, c.err...)
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if got := strings.Join(p.Destinations.Lines(), "|"); got != c.lines {
				t.Errorf("destinations %q, want %q", got, c.lines)
			}
			if p.ClusterInterface != c.cluster {
				t.Errorf("clusterInterface %q, want %q", p.ClusterInterface, c.cluster)
			}
			if got := p.Source.String(); got != c.source {
				t.Errorf("source %s, want %s", got, c.source)
			}
		})
	}

	// Plain encoding/json rejects a number too, with the field's message.
	var o Options
	err := json.Unmarshal([]byte(`{"destinations": 5}`), &o)
	if err == nil || !strings.Contains(err.Error(), "want a string or an array of strings") {
		t.Errorf("json.Unmarshal of a number for destinations: %v", err)
	}
}

func TestParsedSpec(t *testing.T) {
	eg := &attach.Egress{IfName: "net1",
		Addrs: []*net.IPNet{
			{IP: net.ParseIP("192.168.12.100").To4(), Mask: net.CIDRMask(24, 32)},
			{IP: net.ParseIP("fd00:12::99"), Mask: net.CIDRMask(64, 128)},
			{IP: net.ParseIP("192.168.12.101").To4(), Mask: net.CIDRMask(24, 32)},
		},
		Gateways: []net.IP{nil, nil, nil},
	}
	cases := []struct {
		name    string
		json    string
		sources string // Spec.Sources joined by ","
		snat    string // the IPv4 ruleset's SNAT line
		err     string
	}{
		{"source defaults to the interface's addresses", `{"fallbackIP": "203.0.113.9"}`,
			"192.168.12.100,fd00:12::99,192.168.12.101", "-A EGRESS-SNAT-net1 -j SNAT --to-source 192.168.12.100", ""},
		{"explicit source comes first", `{"fallbackIP": "203.0.113.9", "source": "192.168.12.101"}`,
			"192.168.12.101,192.168.12.100,fd00:12::99,192.168.12.101", "-A EGRESS-SNAT-net1 -j SNAT --to-source 192.168.12.101", ""},
		{"source that is not on the interface", `{"fallbackIP": "203.0.113.9", "source": "192.168.12.50"}`,
			"", "", `source 192.168.12.50 is not an address of the egress interface "net1"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var o Options
			if err := json.Unmarshal([]byte(c.json), &o); err != nil {
				t.Fatal(err)
			}
			p, err := o.Parse()
			if err != nil {
				t.Fatal(err)
			}
			spec, err := p.Spec(eg)
			if c.err != "" {
				if err == nil {
					t.Fatalf("no error; spec %+v", spec)
				}
				cnierrtest.Want(t, err, 7, c.err)
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			var got []string
			for _, ip := range spec.Sources {
				got = append(got, ip.String())
			}
			if strings.Join(got, ",") != c.sources {
				t.Errorf("sources %q, want %q", strings.Join(got, ","), c.sources)
			}
			if spec.ClusterInterface != "eth0" || spec.EgressInterface != "net1" {
				t.Errorf("interfaces %q -> %q, want eth0 -> net1", spec.ClusterInterface, spec.EgressInterface)
			}
			sets, err := Build(spec)
			if err != nil {
				t.Fatal(err)
			}
			if lines := sets[0].Lines(); lines[len(lines)-1] != c.snat {
				t.Errorf("SNAT rule %q, want %q", lines[len(lines)-1], c.snat)
			}
		})
	}
}
