package nstest

import (
	"encoding/json"
	"fmt"
	"github.com/egress-router/egress-router/chain/testnet"
	"os"
	"testing"
)

// Attached is a router pod whose net1 was made by the real upstream
// macvlan + static plugins, ready for a chained plugin.
type Attached struct {
	Topo       *testnet.Topology
	Bin        string
	Version    string
	PrevResult json.RawMessage
}

// MacvlanConf is the interface step's config on the test network.
func MacvlanConf(version string, dualStack bool) string {
	addrs := `{"address": "192.168.12.99/24", "gateway": "192.168.12.1"}`
	if dualStack {
		addrs += `, {"address": "fd00:12::99/64", "gateway": "fd00:12::1"}`
	}
	return fmt.Sprintf(`{"cniVersion": %q, "name": "egress-router", "type": "macvlan", "master": "ext0", "mode": "bridge",
 "ipam": {"type": "static", "addresses": [%s]}}`, version, addrs)
}

// Call returns a runtime-style invocation against the router pod.
func (a *Attached) Call(cmd string) Call {
	return Call{Command: cmd, ContainerID: "ctr-" + a.Topo.Prefix, Netns: Path(a.Topo.Router), IfName: "net1", Path: a.Bin, RunIn: a.Topo.Node}
}

// Conf builds a chained plugin config: fields (a JSON object body without
// braces) plus name, cniVersion and prevResult.
func (a *Attached) Conf(typ, fields string, withPrev bool) []byte {
	s := fmt.Sprintf(`{"cniVersion": %q, "name": "egress-router", "type": %q`, a.Version, typ)
	if fields != "" {
		s += ", " + fields
	}
	if withPrev {
		s += `, "prevResult": ` + string(a.PrevResult)
	}
	return []byte(s + "}")
}

// Attach builds a topology and runs macvlan ADD for the router pod. The
// topology is removed when the test ends.
func Attach(t *testing.T, prefix, version string, dualStack bool) *Attached {
	t.Helper()
	Need(t)
	topo, err := testnet.Up(fmt.Sprintf("%s%d-", prefix, os.Getpid()%100000))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { topo.Down() })
	a := &Attached{Topo: topo, Bin: BinDir(t), Version: version}
	out, err := Run("macvlan", a.Call("ADD"), []byte(MacvlanConf(version, dualStack)))
	if err != nil || out.ExitCode != 0 {
		t.Fatalf("macvlan ADD: %v exit %d: %s %s", err, out.ExitCode, out.Stdout, out.Stderr)
	}
	a.PrevResult = json.RawMessage(out.Stdout)
	return a
}
