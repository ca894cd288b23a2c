package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/egress-router/egress-router/chain/nstest"
	"github.com/egress-router/egress-router/chain/testnet"
)

// quirkCall is a runtime's call of egress-router on the test network.
func quirkCall(topo *testnet.Topology, bin, cmd string) nstest.Call {
	return nstest.Call{Command: cmd, ContainerID: "quirk-" + topo.Prefix, Netns: nstest.Path(topo.Router), IfName: "net1",
		Path: bin, RunIn: topo.Node}
}

// TestClusterCIDRInTheClusterSubnet: what Podman showed. A cluster CIDR
// equal to, or inside, the cluster interface's own subnet (Podman's bridge
// subnet is often both) is routed by the kernel already; ADD skips it,
// says so at debug level, and routes the rest. Before, ADD failed with
// "file exists".
func TestClusterCIDRInTheClusterSubnet(t *testing.T) {
	topo := up(t)
	bin := nstest.BinDir(t)
	before := nstest.MustTake(t, topo.Router)
	logName := fmt.Sprintf("quirk-%d.log", os.Getpid())
	conf := fmt.Sprintf(`{"cniVersion": "1.0.0", "name": "quirk", "type": "egress-router",
  "ip": {"addresses": ["%s/24"], "gateway": %q, "destinations": ["%s"]},
  "interfaceType": "macvlan", "interfaceArgs": {"master": %q},
  "clusterCIDRs": ["10.129.2.0/23", "10.129.3.0/24", %q],
  "log_file": %q, "log_level": "debug"}`,
		testnet.ReservedIP, testnet.GatewayIP, testnet.SubnetServerIP, testnet.MasterLink, testnet.ClusterCIDR, logName)
	add, err := nstest.Run("egress-router", quirkCall(topo, bin, "ADD"), []byte(conf))
	if err != nil {
		t.Fatal(err)
	}
	if add.ExitCode != 0 {
		t.Fatalf("ADD with the cluster interface's own subnet as a cluster CIDR: exit %d: %s %s", add.ExitCode, add.Stdout, add.Stderr)
	}
	// Only the CIDR beyond eth0's subnet got a route of ours; eth0's own
	// subnet is still the kernel's.
	routes := run(t, topo.Router, "ip", "-4", "route", "show", "proto", "69")
	if !strings.Contains(routes, testnet.ClusterCIDR+" via "+testnet.RouterPodGW+" dev eth0") {
		t.Errorf("no route for %s via eth0 among ours:\n%s", testnet.ClusterCIDR, routes)
	}
	for _, skipped := range []string{"10.129.2.0/23", "10.129.3.0/24"} {
		if strings.Contains(routes, skipped) {
			t.Errorf("a route of ours for %s, which eth0's subnet holds:\n%s", skipped, routes)
		}
	}
	if got := run(t, topo.Router, "ip", "route", "get", "10.129.3.7"); !strings.Contains(got, "dev eth0") || strings.Contains(got, " via ") {
		t.Errorf("10.129.3.7 is on eth0's link, got %q", strings.TrimSpace(got))
	}
	logged, err := os.ReadFile(filepath.Join(nstest.LogDir(), logName))
	if err != nil {
		t.Fatal(err)
	}
	for _, skipped := range []string{"10.129.2.0/23", "10.129.3.0/24"} {
		if !strings.Contains(string(logged), skipped+" needs no route of ours") {
			t.Errorf("the log does not say %s was skipped:\n%s", skipped, logged)
		}
	}
	// CHECK, as a runtime makes it: the ADD result as prevResult.
	var withPrev map[string]any
	if err := json.Unmarshal([]byte(conf), &withPrev); err != nil {
		t.Fatal(err)
	}
	withPrev["prevResult"] = json.RawMessage(add.Stdout)
	checkConf, _ := json.Marshal(withPrev)
	if check, _ := nstest.Run("egress-router", quirkCall(topo, bin, "CHECK"), checkConf); check.ExitCode != 0 {
		t.Errorf("CHECK: exit %d: %s", check.ExitCode, check.Stdout)
	}
	if del, _ := nstest.Run("egress-router", quirkCall(topo, bin, "DEL"), []byte(conf)); del.ExitCode != 0 {
		t.Fatalf("DEL: exit %d: %s", del.ExitCode, del.Stdout)
	}
	before.Unchanged(t, topo.Router, "after DEL")
}

// TestEgressAttachedFirst: Podman attaches a container's networks in
// random order. With the egress network first there is no cluster
// interface yet: ADD fails with a config error that says what to do, and
// leaves nothing behind.
func TestEgressAttachedFirst(t *testing.T) {
	topo := up(t)
	bin := nstest.BinDir(t)
	before := nstest.MustTake(t, topo.Router)
	conf := fmt.Sprintf(`{"cniVersion": "1.0.0", "name": "quirk", "type": "egress-router",
  "ip": {"addresses": ["%s/24"], "gateway": %q, "destinations": ["%s"]},
  "interfaceType": "macvlan", "interfaceArgs": {"master": %q}, "clusterInterface": "eth7"}`,
		testnet.ReservedIP, testnet.GatewayIP, testnet.SubnetServerIP, testnet.MasterLink)
	add, err := nstest.Run("egress-router", quirkCall(topo, bin, "ADD"), []byte(conf))
	if err != nil {
		t.Fatal(err)
	}
	add.WantError(t, 7, `clusterInterface "eth7" not found`, "the cluster network must be attached before the egress one")
	before.Unchanged(t, topo.Router, "after the refused ADD")
	if del, _ := nstest.Run("egress-router", quirkCall(topo, bin, "DEL"), []byte(conf)); del.ExitCode != 0 {
		t.Errorf("DEL after the refused ADD: exit %d: %s", del.ExitCode, del.Stdout)
	}
	before.Unchanged(t, topo.Router, "after DEL")
}
