package e2e

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/egress-router/egress-router/chain/config"
	"github.com/egress-router/egress-router/chain/jsonx"
	"github.com/egress-router/egress-router/chain/nat"
	"github.com/egress-router/egress-router/chain/nstest"
)

// hostile is one config a tenant might write to break a plugin.
type hostile struct {
	name   string
	plugin config.Plugin
	conf   string
}

// prevResult names net1, made by upstream macvlan in the pod before the
// chained plugins run.
func prevResult(netns string) string {
	return fmt.Sprintf(`{"cniVersion": "1.0.0", "interfaces": [{"name": "net1", "sandbox": %q}],
  "ips": [{"interface": 0, "address": "192.168.12.99/24", "gateway": "192.168.12.1"}]}`, netns)
}

// valid is a working config of each plugin, as a map to break field by
// field.
func valid(p config.Plugin, netns string) map[string]any {
	var s string
	switch p {
	case config.EgressRouter:
		s = routerConf(`"interfaceArgs": {"master": "ext0"}`)
	case config.EgressRoute:
		s = `{"cniVersion": "1.0.0", "name": "egress", "type": "egress-route", "clusterCIDRs": ["10.128.0.0/14"], "prevResult": ` + prevResult(netns) + `}`
	case config.EgressNAT:
		s = `{"cniVersion": "1.0.0", "name": "egress", "type": "egress-nat", "destinations": ["80 tcp 203.0.113.5 8080", "192.168.12.91"], "prevResult": ` + prevResult(netns) + `}`
	}
	m := map[string]any{}
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		panic(err)
	}
	return m
}

func with(base map[string]any, key string, v any) string {
	m := map[string]any{}
	for k, x := range base {
		m[k] = x
	}
	if v == nil {
		delete(m, key)
	} else {
		m[key] = v
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// catalog builds the hostile configs: every known field of every plugin
// given every wrong kind of value, and configs that are oversized,
// deeply nested, in odd encodings, with repeated or miscased keys, and
// with values at and past every limit.
func catalog(netns string) []hostile {
	var out []hostile
	types := map[config.Plugin]reflect.Type{
		config.EgressRouter: reflect.TypeOf(config.RouterConf{}),
		config.EgressRoute:  reflect.TypeOf(config.RouteConf{}),
		config.EgressNAT:    reflect.TypeOf(config.NATConf{}),
	}
	plugins := []config.Plugin{config.EgressRouter, config.EgressRoute, config.EgressNAT}
	wrong := []struct {
		name string
		v    any
	}{{"a number", 1e300}, {"true", true}, {"an object", map[string]any{"x": []any{1}}}, {"an array of numbers", []any{1, 2}}, {"a string", "\u202eégress\u0000"}}
	for _, p := range plugins {
		base := valid(p, netns)
		var keys []string
		for k := range jsonx.Fields(types[p]) {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if k == "prevResult" {
				continue // below
			}
			for _, w := range wrong {
				out = append(out, hostile{fmt.Sprintf("%s: %s %s", p, k, w.name), p, with(base, k, w.v)})
			}
			if base[k] != nil {
				out = append(out, hostile{fmt.Sprintf("%s: %s in upper case", p, k), p, with(with2(base, k), strings.ToUpper(k), base[k])})
			}
		}
	}
	big := strings.Repeat("a", 2<<20)
	deep := strings.Repeat("[", 20000) + strings.Repeat("]", 20000)
	lines := strings.Repeat("80 tcp 203.0.113.5\n", 5000)
	for _, p := range plugins {
		base := valid(p, netns)
		out = append(out,
			hostile{string(p) + ": a 2 MiB name", p, with(base, "name", big)},
			hostile{string(p) + ": 20000 levels of nesting", p, with(base, "x-runtime", json.RawMessage(deep))},
			hostile{string(p) + ": nesting past the decoder's limit", p, strings.Replace(with(base, "name", "n"), `"name":"n"`, `"name":`+deep, 1)},
			hostile{string(p) + ": a key twice", p, strings.TrimSuffix(with(base, "name", "a"), "}") + `,"name":"b"}`},
			hostile{string(p) + ": not an object", p, `["egress"]`},
			hostile{string(p) + ": empty", p, ``},
			hostile{string(p) + ": NUL bytes", p, "{\"name\":\"e\x00\"}"},
			hostile{string(p) + ": invalid UTF-8", p, "{\"cniVersion\":\"1.0.0\",\"name\":\"\xff\xfe\",\"type\":\"" + string(p) + "\"}"},
			hostile{string(p) + ": a version from the future", p, with(base, "cniVersion", "99.0.0")},
			hostile{string(p) + ": no version", p, with(base, "cniVersion", nil)},
			hostile{string(p) + ": trailing garbage", p, with(base, "name", "e") + `}}`},
		)
	}
	// prevResult for the chained plugins.
	for _, p := range plugins[1:] {
		base := valid(p, netns)
		for _, prev := range []struct{ name, v string }{
			{"no interfaces", `{"cniVersion": "1.0.0", "ips": [{"interface": 0, "address": "192.168.12.99/24"}]}`},
			{"an interface index out of range", `{"cniVersion": "1.0.0", "interfaces": [{"name": "net1", "sandbox": "` + netns + `"}], "ips": [{"interface": 7, "address": "192.168.12.99/24"}]}`},
			{"a negative interface index", `{"cniVersion": "1.0.0", "interfaces": [{"name": "net1", "sandbox": "` + netns + `"}], "ips": [{"interface": -1, "address": "192.168.12.99/24"}]}`},
			{"another netns", `{"cniVersion": "1.0.0", "interfaces": [{"name": "net1", "sandbox": "/proc/1/ns/net"}], "ips": [{"interface": 0, "address": "192.168.12.99/24"}]}`},
			{"an address that is the node's", strings.Replace(prevResult(netns), "192.168.12.99/24", "192.168.12.2/24", 1)},
			{"a /0 address", strings.Replace(prevResult(netns), "192.168.12.99/24", "0.0.0.0/0", 1)},
			{"an old version with an unknown one inside", `{"cniVersion": "0.2.0", "ip4": {"ip": "192.168.12.99/24"}}`},
			{"a string", `"net1"`},
		} {
			out = append(out, hostile{fmt.Sprintf("%s: prevResult %s", p, prev.name), p, with(base, "prevResult", json.RawMessage(prev.v))})
		}
	}
	// Values at and past the limits.
	router := valid(config.EgressRouter, netns)
	ip := func(v map[string]any) string { return with(router, "ip", v) }
	for _, c := range []struct {
		name string
		conf string
	}{
		{"every address", ip(map[string]any{"addresses": []string{"0.0.0.0/0"}, "gateway": "192.168.12.1"})},
		{"the IPv6 default", ip(map[string]any{"addresses": []string{"::/0"}})},
		{"broadcast", ip(map[string]any{"addresses": []string{"255.255.255.255/32"}, "gateway": "192.168.12.1"})},
		{"multicast", ip(map[string]any{"addresses": []string{"224.0.0.1/24"}})},
		{"an IPv4-mapped IPv6 address", ip(map[string]any{"addresses": []string{"::ffff:192.168.12.99/120"}, "gateway": "192.168.12.1"})},
		{"a prefix past 32", ip(map[string]any{"addresses": []string{"192.168.12.99/33"}})},
		{"100000 addresses", ip(map[string]any{"addresses": strings.Split(strings.Repeat("192.168.12.99/24,", 100000), ",")})},
		{"5000 identical port rules", ip(map[string]any{"addresses": []string{"192.168.12.99/24"}, "gateway": "192.168.12.1", "destinations": lines})},
		{"port 0", ip(map[string]any{"addresses": []string{"192.168.12.99/24"}, "destinations": []string{"0 tcp 203.0.113.5"}})},
		{"port 65536", ip(map[string]any{"addresses": []string{"192.168.12.99/24"}, "destinations": []string{"65536 tcp 203.0.113.5 80"}})},
		{"full-width digits", ip(map[string]any{"addresses": []string{"192.168.12.99/24"}, "destinations": []string{"８０ tcp 203.0.113.5"}})},
		{"a shell command as a destination", ip(map[string]any{"addresses": []string{"192.168.12.99/24"}, "destinations": []string{"80 tcp $(reboot)"}})},
		{"an MTU below IPv6's minimum", with(router, "interfaceArgs", map[string]any{"master": "ext0", "mtu": 100})},
		{"a negative MTU", with(router, "interfaceArgs", map[string]any{"master": "ext0", "mtu": -1})},
		{"an MTU past the master's", with(router, "interfaceArgs", map[string]any{"master": "ext0", "mtu": 65535})},
		{"a master with a slash", with(router, "interfaceArgs", map[string]any{"master": "../eth0"})},
		{"a master of 16 characters", with(router, "interfaceArgs", map[string]any{"master": "abcdefghijklmnop"})},
		{"a unicode master", with(router, "interfaceArgs", map[string]any{"master": "ëxt0"})},
		{"an unknown interface argument", with(router, "interfaceArgs", map[string]any{"master": "ext0", "mac": "00:00:00:00:00:00"})},
		{"ipvlan l3s", with(with2(router, "interfaceArgs"), "interfaceType", "ipvlan")},
		{"the cluster interface is the egress one", with(router, "clusterInterface", "net1")},
		{"a cluster interface with a slash", with(router, "clusterInterface", "../lo")},
		{"every CIDR through the cluster", with(router, "clusterCIDRs", []string{"0.0.0.0/0"})},
		{"podIP with 10000 entries", with(with2(router, "ip"), "podIP", manyPods(10000))},
		{"ip, podIP and ipConfig", with(withAll(router, map[string]any{"podIP": map[string]any{}}), "ipConfig", map[string]any{"name": "x"})},
	} {
		out = append(out, hostile{"egress-router: " + c.name, config.EgressRouter, c.conf})
	}
	return out
}

// withAll sets keys.
func withAll(base, kv map[string]any) map[string]any {
	m := with2(base, "")
	for k, v := range kv {
		m[k] = v
	}
	return m
}

// with2 drops a key.
func with2(base map[string]any, key string) map[string]any {
	m := map[string]any{}
	for k, v := range base {
		if k != key {
			m[k] = v
		}
	}
	return m
}

func manyPods(n int) map[string]any {
	m := map[string]any{}
	for i := 0; i < n; i++ {
		m[fmt.Sprintf("router-%d", i)] = map[string]any{"addresses": []string{"192.168.12.99/24"}}
	}
	return m
}

// TestHostileConfigs runs the catalog against the three plugins, ADD then
// DEL, as Multus would: each gives a CNI error or a safe success, never
// a panic, a hang or a leftover in the pod or on the node.
func TestHostileConfigs(t *testing.T) {
	tn := newTenant(t)
	netns := nstest.Path(tn.topo.Router)
	// The chained plugins find net1 made, as upstream macvlan makes it.
	macvlan := `{"cniVersion": "1.0.0", "name": "egress", "type": "macvlan", "master": "ext0",
	  "ipam": {"type": "static", "addresses": [{"address": "192.168.12.99/24", "gateway": "192.168.12.1"}]}}`
	cases := catalog(netns)
	if len(cases) < 60 {
		t.Fatalf("only %d hostile configs", len(cases))
	}
	// Parsing does not depend on the NAT backend: the iptables pass of
	// make test runs every fifth config, for the leftovers of the ones
	// accepted.
	if nstest.Backend() == nat.IPTables {
		var some []hostile
		for i := 0; i < len(cases); i += 5 {
			some = append(some, cases[i])
		}
		cases = some
	}
	errors, successes := 0, 0
	for _, plugin := range []config.Plugin{config.EgressRouter, config.EgressRoute, config.EgressNAT} {
		if plugin != config.EgressRouter {
			if out, err := nstest.Run(filepath.Join(tn.bin, "macvlan"), tn.call("ADD"), []byte(macvlan)); err != nil || out.ExitCode != 0 {
				t.Fatalf("macvlan ADD: %v %+v", err, out)
			}
		}
		pod := nstest.MustTake(t, tn.topo.Router)
		node := nstest.MustTake(t, tn.topo.Node)
		for _, c := range cases {
			if c.plugin != plugin {
				continue
			}
			call := func(cmd string) nstest.Outcome {
				cl := tn.call(cmd)
				cl.Timeout = 20 * time.Second
				out, err := nstest.Run(filepath.Join(tn.bin, string(plugin)), cl, []byte(c.conf))
				if err != nil {
					t.Fatalf("%s %s: %v", c.name, cmd, err)
				}
				switch {
				case out.TimedOut:
					t.Errorf("%s: %s hung (%s)", c.name, cmd, out.Took)
				case strings.Contains(out.Stderr, "panic:") || strings.Contains(out.Stderr, "goroutine "):
					t.Errorf("%s: %s panicked:\n%s", c.name, cmd, out.Stderr)
				case out.ExitCode != 0:
					if code, msg, ok := out.Error(); !ok || code == 0 || msg == "" {
						t.Errorf("%s: %s failed without a CNI error: exit %d, stdout %q", c.name, cmd, out.ExitCode, out.Stdout)
					}
				default:
					var res map[string]any
					if cmd == "ADD" && json.Unmarshal([]byte(out.Stdout), &res) != nil {
						t.Errorf("%s: ADD succeeded without a result: %q", c.name, out.Stdout)
					}
				}
				return out
			}
			if add := call("ADD"); add.ExitCode == 0 {
				successes++
			} else {
				errors++
			}
			call("DEL")
			pod.Unchanged(t, tn.topo.Router, c.name+", after ADD and DEL")
			node.Unchanged(t, tn.topo.Node, c.name+", after ADD and DEL")
		}
		if plugin != config.EgressRouter {
			if out, err := nstest.Run(filepath.Join(tn.bin, "macvlan"), tn.call("DEL"), []byte(macvlan)); err != nil || out.ExitCode != 0 {
				t.Fatalf("macvlan DEL: %v %+v", err, out)
			}
		}
	}
	t.Logf("%d hostile configs: %d refused with a CNI error, %d accepted and removed again", len(cases), errors, successes)
}
