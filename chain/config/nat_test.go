package config

import (
	"encoding/json"
	"net"
	"strings"
	"testing"

	"github.com/egress-router/egress-router/chain/cnierr/cnierrtest"
	"github.com/egress-router/egress-router/chain/nat"
	"github.com/egress-router/egress-router/chain/plan"
)

func TestParseBackend(t *testing.T) {
	for in, want := range map[string]nat.Backend{"": nat.Auto, "auto": nat.Auto, "IPTables": nat.IPTables, " nftables ": nat.NFTables} {
		if got, err := parseBackend("backend", in); err != nil || got != want {
			t.Errorf("%q: %q %v, want %q", in, got, err, want)
		}
	}
	_, err := parseBackend("backend", "pf")
	cnierrtest.Want(t, err, 7, "backend", `"pf"`, "iptables, nftables or auto")
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
			var o NATConf
			// decode is how the plugin reads its config; a
			// field of the wrong type is an invalid config (code 7).
			err := decode([]byte(c.json), &o)
			var p *natSettings
			if err == nil {
				p, err = o.settings()
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
			if got := strings.Join(p.destinations.Lines(), "|"); got != c.lines {
				t.Errorf("destinations %q, want %q", got, c.lines)
			}
			if p.cluster != c.cluster {
				t.Errorf("clusterInterface %q, want %q", p.cluster, c.cluster)
			}
			if got := p.source.String(); got != c.source {
				t.Errorf("source %s, want %s", got, c.source)
			}
		})
	}

	// Plain encoding/json rejects a number too, with the field's message.
	var o NATConf
	err := json.Unmarshal([]byte(`{"destinations": 5}`), &o)
	if err == nil || !strings.Contains(err.Error(), "want a string or an array of strings") {
		t.Errorf("json.Unmarshal of a number for destinations: %v", err)
	}
}

func TestParsedSpec(t *testing.T) {
	eg := &plan.Egress{IfName: "net1",
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
			var o NATConf
			if err := json.Unmarshal([]byte(c.json), &o); err != nil {
				t.Fatal(err)
			}
			p, err := o.settings()
			if err != nil {
				t.Fatal(err)
			}
			spec, err := natSpec(p.cluster, eg.IfName, p.destinations, p.source, eg.Addrs)
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
			sets, err := nat.Build(spec)
			if err != nil {
				t.Fatal(err)
			}
			if lines := nat.IPTablesLines(sets[0]); lines[len(lines)-1] != c.snat {
				t.Errorf("SNAT rule %q, want %q", lines[len(lines)-1], c.snat)
			}
		})
	}
}
