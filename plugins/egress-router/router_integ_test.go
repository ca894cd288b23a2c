package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/egress-router/egress-router/chain/nstest"
	"github.com/egress-router/egress-router/chain/testnet"
)

// TestSeed001 attaches seed 001's config exactly as OpenShift documents it
// and follows a connection through it: a client on the node connects to
// the router pod's cluster address and arrives at the destination from the
// reserved address.
func TestSeed001(t *testing.T) {
	p := newPod(t)
	before := nstest.MustTake(t, p.topo.Router)
	srv, err := nstest.Serve(p.topo.Ext, "tcp", testnet.SubnetServerIP+":8080")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	usrv, err := nstest.Serve(p.topo.Ext, "udp", testnet.SubnetServerIP+":5353")
	if err != nil {
		t.Fatal(err)
	}
	defer usrv.Close()

	add := run(t, p.call("ADD"), seed001)
	out := ok(t, "ADD", add)
	if add.Stderr != "" {
		t.Errorf("ADD wrote to stderr at the default log level: %q", add.Stderr)
	}
	res := result(t, out)
	if v := rawVersion(t, out); v != "0.4.0" {
		t.Errorf("result version %q, want the config's 0.4.0", v)
	}
	if len(res.Interfaces) != 1 || res.Interfaces[0].Name != "net1" || res.Interfaces[0].Sandbox != nstest.Path(p.topo.Router) || res.Interfaces[0].Mac == "" {
		t.Errorf("interfaces %+v, want net1 in the router netns with a MAC", res.Interfaces)
	}
	if len(res.IPs) != 1 || res.IPs[0].Address.String() != "192.168.12.99/24" || res.IPs[0].Gateway.String() != "192.168.12.1" {
		t.Errorf("ips %v, want 192.168.12.99/24 gw 192.168.12.1", res.IPs)
	}
	var routes []string
	for _, r := range res.Routes {
		routes = append(routes, fmt.Sprintf("%s via %v", r.Dst.String(), r.GW))
	}
	wantLines(t, "result routes", routes, []string{
		"192.168.12.2/32 via 10.129.2.1", "192.168.12.1/32 via <nil>", "0.0.0.0/0 via 192.168.12.1",
	})
	if len(res.Routes) != 3 {
		t.Errorf("result has %d routes, want 3 (master host, gateway host, default): %v", len(res.Routes), routes)
	}

	wantLines(t, "routes", trimmed(sh(t, p.topo.Router, "ip", "-4", "route")), []string{
		"default via 192.168.12.1 dev net1 proto 69",
		"10.129.2.0/23 dev eth0 proto kernel scope link src 10.129.2.31",
		"192.168.12.0/24 dev net1 proto kernel scope link src 192.168.12.99",
		"192.168.12.1 dev net1 proto 69 scope link",
		"192.168.12.2 via 10.129.2.1 dev eth0 proto 69",
	})
	wantLines(t, "eth0's default, kept aside", strings.Split(strings.TrimSpace(sh(t, p.topo.Router, "ip", "-4", "route", "show", "table", "17746")), "\n"),
		[]string{"default via 10.129.2.1 dev eth0"})
	wantLines(t, "NAT", nstest.NATLines(t, p.topo.Router, 4), nstest.WithMarks(nstest.Pick([]string{
		":EGRESS-DNAT-net1 - [0:0]",
		":EGRESS-FORWARDING-WAS-OFF - [0:0]",
		":EGRESS-SNAT-net1 - [0:0]",
		"-A PREROUTING -i eth0 -j EGRESS-DNAT-net1",
		"-A POSTROUTING -o net1 -j EGRESS-SNAT-net1",
		"-A EGRESS-DNAT-net1 -j DNAT --to-destination 192.168.12.91",
		"-A EGRESS-SNAT-net1 -j SNAT --to-source 192.168.12.99",
	}, []string{
		"table ip egress-net1",
		"chain prerouting",
		"type nat hook prerouting priority dstnat; policy accept;",
		`iifname "eth0" dnat to 192.168.12.91`,
		"chain postrouting",
		"type nat hook postrouting priority srcnat; policy accept;",
		`oifname "net1" snat to 192.168.12.99`,
		"table ip egress_forwarding",
	}), "eth0", "net1"))
	if v := sysctl(t, p.topo.Router, "net.ipv4.ip_forward"); v != "1" {
		t.Errorf("ip_forward %s, want 1", v)
	}

	// Every port goes to the fallback, from the reserved address; the node
	// shares eth0's subnet, so replies need no cluster routes.
	for _, proto := range []string{"tcp", "udp"} {
		port := map[string]string{"tcp": "8080", "udp": "5353"}[proto]
		saw, err := nstest.Ask(p.topo.Node, proto, testnet.RouterPodIP+":"+port)
		if err != nil {
			t.Fatal(err)
		}
		if nstest.SourceIP(saw) != testnet.ReservedIP {
			t.Errorf("%s: the server saw %s, want the reserved %s", proto, saw, testnet.ReservedIP)
		}
	}
	// The master host is reached over eth0 (a macvlan child cannot reach
	// its master directly).
	if saw := sh(t, p.topo.Router, "ip", "route", "get", testnet.NodeMasterIP); !strings.Contains(saw, "dev eth0") {
		t.Errorf("route to the master %s: %s", testnet.NodeMasterIP, saw)
	}

	// CHECK with the ADD result passes; it notices a rule removed by hand.
	checkConf := withPrev(seed001, out)
	ok(t, "CHECK", run(t, p.call("CHECK"), checkConf))
	undo := nstest.StrayRule(t, p.topo.Router, "net1")
	run(t, p.call("CHECK"), checkConf).WantError(t, 999, "nat check", nstest.ChainDiffers("net1"), "192.168.12.91")
	undo()
	ok(t, "CHECK after taking the stray rule out", run(t, p.call("CHECK"), checkConf))
	sh(t, p.topo.Router, "ip", "route", "del", "default", "via", "192.168.12.1", "dev", "net1")
	run(t, p.call("CHECK"), checkConf).WantError(t, 999, "routes check", "default")
	sh(t, p.topo.Router, "ip", "route", "add", "default", "via", "192.168.12.1", "dev", "net1", "proto", "69")
	sh(t, p.topo.Router, "ip", "addr", "del", "192.168.12.99/24", "dev", "net1")
	if o := run(t, p.call("CHECK"), checkConf); o.ExitCode == 0 {
		t.Errorf("CHECK passed with the reserved address removed from net1")
	}
	run(t, p.call("CHECK"), seed001).WantError(t, 7, "prevResult")

	// DEL twice, the second as containerd sends it (no netns): the pod is
	// as before ADD, forwarding off again.
	ok(t, "DEL", run(t, p.call("DEL"), seed001))
	second := p.call("DEL")
	second.Netns = ""
	ok(t, "second DEL", run(t, second, seed001))
	ok(t, "third DEL", run(t, p.call("DEL"), seed001))
	before.Unchanged(t, p.topo.Router, "after DEL")
	if v := sysctl(t, p.topo.Router, "net.ipv4.ip_forward"); v != "0" {
		t.Errorf("ip_forward %s after DEL, want 0 as before ADD", v)
	}
}

// TestVersionsAndDualStack runs the operator-style dual-stack config with
// cluster routes for every supported result version and follows traffic
// from a client pod on another node subnet.
func TestVersionsAndDualStack(t *testing.T) {
	for _, v := range []string{"0.3.1", "0.4.0", "1.0.0", "1.1.0"} {
		t.Run(v, func(t *testing.T) {
			p := newPod(t)
			before := nstest.MustTake(t, p.topo.Router)
			conf := fmt.Sprintf(`{"cniVersion": %q, "type": "egress-router", "name": "egress",
 "ip": {"addresses": ["192.168.12.99/24", "fd00:12::99/64"],
        "destinations": ["80 TCP 203.0.113.5 8080", "5353 UDP 203.0.113.5", "80 tcp fd00:203::5 8080"],
        "fallbackIP": "192.168.12.91"},
 "interfaceArgs": {"mode": "Bridge"},
 "clusterCIDRs": ["10.128.0.0/14", "fd00:100::/24"], "serviceCIDRs": ["172.30.0.0/16"]}`, v)
			far, err := nstest.Serve(p.topo.Far, "tcp", testnet.FarServerIP+":8080")
			if err != nil {
				t.Fatal(err)
			}
			defer far.Close()
			far6, err := nstest.Serve(p.topo.Far, "tcp", "["+testnet.FarServerIP6+"]:8080")
			if err != nil {
				t.Fatal(err)
			}
			defer far6.Close()
			fb, err := nstest.Serve(p.topo.Ext, "tcp", testnet.SubnetServerIP+":9999")
			if err != nil {
				t.Fatal(err)
			}
			defer fb.Close()

			out := ok(t, "ADD", run(t, p.call("ADD"), conf))
			res := result(t, out)
			if len(res.IPs) != 2 || res.IPs[1].Gateway.String() != testnet.GatewayIP6 || res.IPs[0].Gateway.String() != testnet.GatewayIP {
				t.Errorf("ips %v: want both families with the inferred gateways", res.IPs)
			}
			if got := rawVersion(t, out); got != v {
				t.Errorf("result is version %q, want the config's %s", got, v)
			}
			for _, c := range []struct{ proto, to, want string }{
				{"tcp", testnet.RouterPodIP + ":80", testnet.ReservedIP},
				{"tcp", "[" + testnet.RouterPodIP6 + "]:80", testnet.ReservedIP6},
				{"tcp", testnet.RouterPodIP + ":9999", testnet.ReservedIP},
			} {
				saw, err := nstest.Ask(p.topo.Client, c.proto, c.to)
				if err != nil {
					t.Fatal(err)
				}
				if nstest.SourceIP(saw) != c.want {
					t.Errorf("%s %s: the server saw %s, want %s", c.proto, c.to, saw, c.want)
				}
			}
			if len(far.Peers()) != 1 || len(far6.Peers()) != 1 || len(fb.Peers()) != 1 {
				t.Errorf("servers saw %v %v %v, want one connection each", far.Peers(), far6.Peers(), fb.Peers())
			}
			if v != "0.3.1" {
				ok(t, "CHECK", run(t, p.call("CHECK"), withPrev(conf, out)))
			}
			ok(t, "DEL", run(t, p.call("DEL"), conf))
			before.Unchanged(t, p.topo.Router, "after DEL")
		})
	}
}

// TestFailuresLeaveThePodAsItWas makes each step fail in turn and checks
// that the pod's links, addresses, routes and rules equal the snapshot
// taken before ADD, and that the error says what failed.
func TestFailuresLeaveThePodAsItWas(t *testing.T) {
	p := newPod(t)
	before := nstest.MustTake(t, p.topo.Router)
	good := `"ip": {"addresses": ["192.168.12.99/24"], "destinations": ["80 tcp 203.0.113.5 8080", "192.168.12.91"], "gateway": "192.168.12.1"}`
	conf := func(extra string) string {
		s := `{"cniVersion": "1.0.0", "type": "egress-router", "name": "egress", ` + good
		if extra != "" {
			s += ", " + extra
		}
		return s + "}"
	}
	cases := []struct {
		name      string
		conf      string
		call      func(c nstest.Call) nstest.Call
		refuse    bool // the NAT backend refuses our rules
		code      uint
		fragments []string
	}{
		{name: "macvlan missing from CNI_PATH", conf: conf(""),
			call: func(c nstest.Call) nstest.Call { c.Path = pluginDir(t, p.bin, "egress-router", "static"); return c },
			code: 999, fragments: []string{"macvlan", "failed to find plugin"}},
		{name: "static missing from CNI_PATH", conf: conf(""),
			call: func(c nstest.Call) nstest.Call { c.Path = pluginDir(t, p.bin, "egress-router", "macvlan"); return c },
			code: 999, fragments: []string{"macvlan", "static"}},
		{name: "master does not exist", conf: conf(`"interfaceArgs": {"master": "ext9"}`),
			code: 7, fragments: []string{"interfaceArgs.master", "ext9"}},
		{name: "no gateway and none to infer", conf: `{"cniVersion": "1.0.0", "type": "egress-router", "name": "egress", "ip": {"addresses": ["10.77.0.5/24"], "destinations": ["10.77.0.9"]}, "interfaceArgs": {"master": "ext0"}}`,
			code: 7, fragments: []string{"ip.gateway: not set", "ext0", "10.77.0.5/24"}},
		{name: "cluster interface missing (found before anything is created)", conf: conf(`"clusterInterface": "eth9"`),
			code: 7, fragments: []string{`clusterInterface "eth9" not found`, "attached before"}},
		{name: "route conflict half-way (route step)", conf: conf(`"masterIPs": ["192.168.12.1"]`),
			code: 999, fragments: []string{"routes", "192.168.12.1"}},
		{name: "rule refused (NAT step)", conf: conf(""), refuse: true,
			code: 999, fragments: []string{"nat", nstest.Pick("iptables-restore", "nftables")}},
		{name: "podIP without K8S_POD_NAME", conf: `{"cniVersion": "1.0.0", "type": "egress-router", "name": "egress", "podIP": {"router-a": {"addresses": ["192.168.12.99/24"]}}}`,
			code: 4, fragments: []string{"K8S_POD_NAME", "router-a"}},
		{name: "ipConfig without kubeconfig", conf: `{"cniVersion": "1.0.0", "type": "egress-router", "name": "egress", "ipConfig": {"namespace": "ns1", "name": "egress-ips"}}`,
			call: func(c nstest.Call) nstest.Call { c.Args = "K8S_POD_NAMESPACE=ns1"; return c },
			code: 7, fragments: []string{"ipConfig", "egress-ips", "kubeconfig"}},
		{name: "bad destination", conf: `{"cniVersion": "1.0.0", "type": "egress-router", "name": "egress", "ip": {"addresses": ["192.168.12.99/24"], "destinations": ["80 icmp 10.0.0.1"]}}`,
			code: 7, fragments: []string{"ip.destinations[0]", "icmp"}},
		{name: "malformed JSON", conf: `{"cniVersion": "1.0.0", "name": "egress", "ip": `, code: 6},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			call := p.call("ADD")
			if c.call != nil {
				call = c.call(call)
			}
			want := before
			if c.refuse {
				call.ExtraEnv = nstest.RefuseNAT(t, p.topo.Router, "net1", 4)
				want = nstest.MustTake(t, p.topo.Router)
			}
			run(t, call, c.conf).WantError(t, c.code, c.fragments...)
			want.Unchanged(t, p.topo.Router, "after a failed ADD")
			if v := sysctl(t, p.topo.Router, "net.ipv4.ip_forward"); v != "0" {
				t.Errorf("ip_forward %s after a failed ADD, want 0", v)
			}
		})
	}
}

// TestExistingInterfaceIsKept: a second ADD with the same CNI_IFNAME fails
// without touching the first attachment.
func TestExistingInterfaceIsKept(t *testing.T) {
	p := newPod(t)
	ok(t, "ADD", run(t, p.call("ADD"), seed001))
	attached := nstest.MustTake(t, p.topo.Router)
	run(t, p.call("ADD"), seed001).WantError(t, 4, "CNI_IFNAME", "net1")
	attached.Unchanged(t, p.topo.Router, "after a refused second ADD")
	ok(t, "DEL", run(t, p.call("DEL"), seed001))
}

// TestPodIP picks the pod's own entry with K8S_POD_NAME from CNI_ARGS.
func TestPodIP(t *testing.T) {
	p := newPod(t)
	conf := `{"cniVersion": "1.1.0", "type": "egress-router", "name": "egress",
 "podIP": {"router-a": {"addresses": ["192.168.12.98/24"], "destinations": ["192.168.12.91"], "gateway": "192.168.12.1"},
           "router-b": {"addresses": ["192.168.12.99/24"], "destinations": ["192.168.12.91"], "gateway": "192.168.12.1"}}}`
	c := p.call("ADD")
	c.Args = "IgnoreUnknown=true;K8S_POD_NAMESPACE=egress;K8S_POD_NAME=router-b;K8S_POD_UID=1234"
	res := result(t, ok(t, "ADD", run(t, c, conf)))
	if len(res.IPs) != 1 || res.IPs[0].Address.String() != "192.168.12.99/24" {
		t.Errorf("ips %v, want router-b's 192.168.12.99/24", res.IPs)
	}
	if got := sh(t, p.topo.Router, "ip", "-4", "-o", "addr", "show", "dev", "net1"); !strings.Contains(got, "192.168.12.99/24") {
		t.Errorf("net1 addresses: %s", got)
	}
	c.Command = "DEL"
	ok(t, "DEL", run(t, c, conf))
	c.Command, c.Args = "ADD", "K8S_POD_NAME=router-c"
	run(t, c, conf).WantError(t, 7, `"router-c"`, "router-a, router-b")
}

// TestLogFile: log_file gets the debug log, stdout only the result. The
// file goes into the node's log folder (the test policy's) under its base
// name, whatever folder the config names.
func TestLogFile(t *testing.T) {
	p := newPod(t)
	asked := filepath.Join(t.TempDir(), "egress.log")
	conf := strings.Replace(seed001, `"name": "egress-router",`, fmt.Sprintf(`"name": "egress-router", "log_file": %q, "log_level": "debug",`, asked), 1)
	add := run(t, p.call("ADD"), conf)
	result(t, ok(t, "ADD", add))
	if add.Stderr != "" {
		t.Errorf("stderr %q, want the log in the file only", add.Stderr)
	}
	logFile := filepath.Join(nstest.LogDir(), "egress.log")
	b, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"debug", "macvlan on ext0 mode bridge", "192.168.12.99/24"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("log lacks %q:\n%s", want, b)
		}
	}
	if st, err := os.Stat(logFile); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("log file mode %v (%v), want 0600", st.Mode().Perm(), err)
	}
	if _, err := os.Stat(asked); err == nil {
		t.Errorf("%s was written: only the policy's log folder may be", asked)
	}
	ok(t, "DEL", run(t, p.call("DEL"), conf))
}

// TestStatusAndGCAreForwarded: STATUS and GC reach the interface plugin;
// without it in CNI_PATH they fail naming it.
func TestStatusAndGCAreForwarded(t *testing.T) {
	p := newPod(t)
	conf := strings.Replace(seed001, `"0.4.0"`, `"1.1.0"`, 1)
	gc := withPrevField(conf, `"cni.dev/valid-attachments": [{"containerID": "ctr-x", "ifname": "net1"}]`)
	for _, verb := range []string{"STATUS", "GC"} {
		c := p.call(verb)
		stdin := conf
		if verb == "GC" {
			stdin = gc
		}
		ok(t, verb, run(t, c, stdin))
		c.Path = pluginDir(t, p.bin, "egress-router", "static")
		run(t, c, stdin).WantError(t, 999, "macvlan", "failed to find plugin")
	}
	v := run(t, p.call("VERSION"), `{"cniVersion": "1.1.0"}`)
	for _, want := range []string{`"0.3.0"`, `"0.3.1"`, `"0.4.0"`, `"1.0.0"`, `"1.1.0"`} {
		if !strings.Contains(v.Stdout, want) {
			t.Errorf("VERSION %s lacks %s", v.Stdout, want)
		}
	}
}

// withPrevField adds a member to a JSON config object.
func withPrevField(conf, member string) string {
	i := strings.LastIndex(conf, "}")
	return conf[:i] + ", " + member + "}"
}

// TestIPVLAN attaches through upstream ipvlan where the kernel has it
// (make test-kernels: in a VM; chain/e2e sends traffic through it).
func TestIPVLAN(t *testing.T) {
	p := newPod(t)
	nstest.NeedKernel(t, p.topo.Node, "ipvlan")
	before := nstest.MustTake(t, p.topo.Router)
	conf := strings.Replace(seed001, `"name": "egress-router",`, `"name": "egress-router", "interfaceType": "ipvlan", "interfaceArgs": {"mode": "L2"},`, 1)
	out := ok(t, "ADD", run(t, p.call("ADD"), conf))
	if got := sh(t, p.topo.Router, "ip", "-d", "link", "show", "net1"); !strings.Contains(got, "ipvlan") {
		t.Errorf("net1 is not ipvlan: %s", got)
	}
	ok(t, "CHECK", run(t, p.call("CHECK"), withPrev(conf, out)))
	ok(t, "DEL", run(t, p.call("DEL"), conf))
	before.Unchanged(t, p.topo.Router, "after DEL")
}

// TestLockFiles: the per-pod lock file lives as long as the pod's calls.
// DEL removes it; GC removes those no call holds (a pod whose netns went
// before its DEL); ADD's stays for the pod's next call.
func TestLockFiles(t *testing.T) {
	p := newPod(t)
	dir := t.TempDir()
	nstest.UsePolicy(t, map[string]any{"lockDir": dir})
	files := func() []string {
		m, err := filepath.Glob(filepath.Join(dir, "pod-*.lock"))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	ok(t, "ADD", run(t, p.call("ADD"), seed001))
	if n := len(files()); n != 1 {
		t.Fatalf("after ADD: %d lock files, want 1", n)
	}
	ok(t, "DEL", run(t, p.call("DEL"), seed001))
	if f := files(); len(f) != 0 {
		t.Errorf("after DEL: %v left", f)
	}
	conf := strings.Replace(seed001, `"0.4.0"`, `"1.1.0"`, 1)
	res := ok(t, "ADD", run(t, p.call("ADD"), conf))
	stale := filepath.Join(dir, "pod-1-1.lock")
	if err := os.WriteFile(stale, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	gc := withPrevField(conf, `"cni.dev/valid-attachments": [{"containerID": "`+p.call("GC").ContainerID+`", "ifname": "net1"}]`)
	ok(t, "GC", run(t, p.call("GC"), gc))
	if f := files(); len(f) != 0 {
		t.Errorf("after GC: %v left (no call held them)", f)
	}
	// The pod still works without its file: CHECK takes a new one.
	ok(t, "CHECK", run(t, p.call("CHECK"), withPrevField(conf, `"prevResult": `+res)))
	ok(t, "DEL", run(t, p.call("DEL"), seed001))
}
