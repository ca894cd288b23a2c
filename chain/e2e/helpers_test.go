package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/cni/pkg/types/create"
	"github.com/containernetworking/plugins/pkg/ns"

	"github.com/egress-router/egress-router/chain/nstest"
	"github.com/egress-router/egress-router/chain/testnet"
)

// conflist is the example adapted to the test network: the
// per-port rule with a remote port, a UDP rule, IPv6 rules and a fallback.
func conflist(version string) []byte {
	return []byte(fmt.Sprintf(`{"cniVersion": %q, "name": "egress-router", "plugins": [
  {"type": "macvlan", "master": "ext0", "mode": "bridge",
   "ipam": {"type": "static", "addresses": [
     {"address": "192.168.12.99/24", "gateway": "192.168.12.1"},
     {"address": "fd00:12::99/64", "gateway": "fd00:12::1"}]}},
  {"type": "egress-route", "clusterCIDRs": ["10.128.0.0/14", "fd00:100::/24"], "serviceCIDRs": ["172.30.0.0/16", "fd00:172:30::/112"]},
  {"type": "egress-nat", "destinations": [
     "80 tcp 203.0.113.5 8080", "5353 UDP 203.0.113.5", "80 tcp fd00:203::5 8080",
     "# everything else", "192.168.12.91/32", "fd00:12::91"]}
]}`, version))
}

var versions = []string{"0.4.0", "1.0.0", "1.1.0"}

var seq atomic.Int32

// up builds a fresh test network for one test and removes it at the end,
// checking that the root namespace was not changed.
func up(t *testing.T) *testnet.Topology {
	t.Helper()
	nstest.Need(t)
	root, err := nstest.Take("")
	if err != nil {
		t.Fatal(err)
	}
	topo, err := testnet.Up(fmt.Sprintf("e2e%d-%d-", os.Getpid()%10000, seq.Add(1)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := topo.Down(); err != nil {
			t.Errorf("topology down: %v", err)
		}
		after, err := nstest.Take("")
		if err != nil {
			t.Fatal(err)
		}
		if d := root.Diff(after); d != "" {
			t.Errorf("the root namespace changed:\n%s", d)
		}
	})
	return topo
}

// inNode runs f with the current thread in the topology's node namespace,
// where a runtime would run the plugins.
func inNode(t *testing.T, topo *testnet.Topology, f func() error) error {
	t.Helper()
	return inNetns(t, topo.Node, f)
}

// inNetns runs f with the current thread in namespace name; sockets made
// there stay there.
func inNetns(t *testing.T, name string, f func() error) error {
	t.Helper()
	n, err := nstest.NS(name)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	return n.Do(func(ns.NetNS) error { return f() })
}

type libcniRuntime struct {
	cni  *libcni.CNIConfig
	list *libcni.NetworkConfigList
	rt   *libcni.RuntimeConf
}

func newLibcni(t *testing.T, topo *testnet.Topology, conf []byte) *libcniRuntime {
	t.Helper()
	list, err := libcni.NetworkConfFromBytes(conf)
	if err != nil {
		t.Fatalf("parse conflist: %v", err)
	}
	return &libcniRuntime{
		cni:  libcni.NewCNIConfigWithCacheDir([]string{nstest.BinDir(t)}, t.TempDir(), nil),
		list: list,
		rt:   &libcni.RuntimeConf{ContainerID: "ctr-" + topo.Prefix, NetNS: nstest.Path(topo.Router), IfName: "net1"},
	}
}

func (r *libcniRuntime) add(t *testing.T, topo *testnet.Topology) (types.Result, error) {
	var res types.Result
	err := inNode(t, topo, func() (err error) {
		res, err = r.cni.AddNetworkList(context.Background(), r.list, r.rt)
		return err
	})
	return res, err
}

func (r *libcniRuntime) check(t *testing.T, topo *testnet.Topology) error {
	return inNode(t, topo, func() error { return r.cni.CheckNetworkList(context.Background(), r.list, r.rt) })
}

func (r *libcniRuntime) del(t *testing.T, topo *testnet.Topology) error {
	return inNode(t, topo, func() error { return r.cni.DelNetworkList(context.Background(), r.list, r.rt) })
}

// cnitool runs the real cnitool binary in the node namespace.
func cnitool(t *testing.T, topo *testnet.Topology, netconfDir, verb, netns string) (string, error) {
	t.Helper()
	bin := nstest.BinDir(t)
	cmd := exec.Command("ip", "netns", "exec", topo.Node, filepath.Join(bin, "cnitool"), verb, "egress-router", netns, "-i", "net1")
	cmd.Env = append(os.Environ(), "CNI_PATH="+bin, "NETCONFPATH="+netconfDir)
	out, err := cmd.Output()
	if ee, ok := err.(*exec.ExitError); ok {
		return string(out), fmt.Errorf("cnitool %s: %v: %s%s", verb, err, out, ee.Stderr)
	}
	return string(out), err
}

// run executes a command in a namespace and returns its output.
func run(t *testing.T, netns string, argv ...string) string {
	t.Helper()
	out, err := exec.Command("ip", append([]string{"netns", "exec", netns}, argv...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s in %s: %v: %s", strings.Join(argv, " "), netns, err, out)
	}
	return string(out)
}

// lines returns the non-empty trimmed lines of s.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// wantLines fails unless got holds exactly want, in order.
func wantLines(t *testing.T, what string, got string, want []string) {
	t.Helper()
	g := lines(got)
	if strings.Join(g, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\n--- got\n%s\n--- want\n%s", what, strings.Join(g, "\n"), strings.Join(want, "\n"))
	}
}

func toCurrent(t *testing.T, res types.Result) *current.Result {
	t.Helper()
	r, err := current.NewResultFromResult(res)
	if err != nil {
		t.Fatalf("convert result: %v", err)
	}
	return r
}

func parseResult(t *testing.T, out string) *current.Result {
	t.Helper()
	var raw map[string]any
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatalf("result is not JSON: %v: %q", err, out)
	}
	res, err := create.CreateFromBytes([]byte(out))
	if err != nil {
		t.Fatalf("decode result: %v", err)
	}
	return toCurrent(t, res)
}

func execIP(args ...string) ([]byte, error) {
	return exec.Command("ip", args...).CombinedOutput()
}
