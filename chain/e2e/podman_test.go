package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/egress-router/egress-router/chain/nstest"
	"github.com/egress-router/egress-router/chain/policy"
	"github.com/egress-router/egress-router/chain/testnet"
)

// podmanSubnet is the Podman cluster network's subnet; the egress
// networks name it as a cluster CIDR, as a Podman user would.
const podmanSubnet = "10.88.5.0/24"

// podman runs Podman 4 (its CNI backend) as a runtime on the test
// network's node, with everything it keeps in a test folder.
type podman struct {
	t      *testing.T
	node   string // netns name
	dir    string
	cgroup string // cgroup parent (one level under each controller)
}

func newPodman(t *testing.T, topo *testnet.Topology) *podman {
	t.Helper()
	if _, err := exec.LookPath("podman"); err != nil {
		t.Fatal("podman is not installed (make test's deps install it)")
	}
	bin := nstest.BinDir(t)
	p := &podman{t: t, node: topo.Node, dir: t.TempDir(), cgroup: fmt.Sprintf("/egress-test-podman-%d", os.Getpid())}
	for _, d := range []string{"net.d", "rootfs", "tmp"} {
		if err := os.MkdirAll(filepath.Join(p.dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	pause, err := os.ReadFile(filepath.Join(bin, "pause"))
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, text string, mode os.FileMode) {
		if err := os.WriteFile(filepath.Join(p.dir, name), []byte(text), mode); err != nil {
			t.Fatal(err)
		}
	}
	write("rootfs/pause", string(pause), 0o755)
	// The CNI backend, only our bin/ as plugins, and nothing of Podman's
	// outside the test folder. No default ulimits: Podman's exceed what
	// this machine allows runc. The test policy goes in the engine's
	// environment too: the cleanup process conmon starts when a container
	// stops runs the DEL, without the test's environment.
	write("containers.conf", fmt.Sprintf(`[containers]
default_ulimits = []
[network]
network_backend = "cni"
cni_plugin_dirs = [%q]
network_config_dir = %q
default_network = "cluster"
[engine]
env = [%q]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = %q
`, bin, filepath.Join(p.dir, "net.d"), policy.PathEnv+"="+os.Getenv(policy.PathEnv), filepath.Join(p.dir, "tmp")), 0o644)
	// The cluster network: ptp, as Podman's bridge would give eth0 an
	// address in podmanSubnet with the node as its gateway.
	write("net.d/cluster.conflist", fmt.Sprintf(`{"cniVersion": "1.0.0", "name": "cluster", "plugins": [{"type": "ptp",
  "ipam": {"type": "host-local", "subnet": %q, "routes": [{"dst": "0.0.0.0/0"}], "dataDir": %q}}]}`,
		podmanSubnet, filepath.Join(p.dir, "ipam")), 0o644)
	// Both forms, as conflists (Podman ignores a .conf), at the newest
	// version Podman 4.3's libcni reads.
	write("net.d/egress-chain.conflist", fmt.Sprintf(`{"cniVersion": "1.0.0", "name": "egress-chain", "plugins": [
  {"type": "macvlan", "master": %q, "mode": "bridge",
   "ipam": {"type": "static", "addresses": [{"address": "%s/24", "gateway": %q}]}},
  {"type": "egress-route", "clusterCIDRs": [%q]},
  {"type": "egress-nat", "destinations": ["80 tcp %s 8080", "5353 udp %s"]}]}`,
		testnet.MasterLink, testnet.ReservedIP, testnet.GatewayIP, podmanSubnet, testnet.FarServerIP, testnet.FarServerIP), 0o644)
	write("net.d/egress-single.conflist", fmt.Sprintf(`{"cniVersion": "1.0.0", "name": "egress-single", "plugins": [
  {"type": "egress-router", "interfaceArgs": {"master": %q}, "clusterCIDRs": [%q],
   "ip": {"addresses": ["%s/24"], "gateway": %q, "destinations": ["80 tcp %s 8080", "5353 udp %s"]}}]}`,
		testnet.MasterLink, podmanSubnet, testnet.ReservedIP, testnet.GatewayIP, testnet.FarServerIP, testnet.FarServerIP), 0o644)
	t.Cleanup(func() {
		// Podman's containers are gone by now; their cgroups must go too.
		dirs, _ := filepath.Glob("/sys/fs/cgroup/*" + p.cgroup)
		for _, d := range dirs {
			if err := nstest.RemoveCgroup(d); err != nil {
				t.Errorf("cgroup %s: %v", d, err)
			}
		}
	})
	return p
}

// run runs podman in the node's netns (nsenter, not ip netns exec, which
// would hide the cgroup mounts under a fresh /sys).
func (p *podman) run(args ...string) (string, error) {
	argv := append([]string{"--net=" + nstest.Path(p.node), "podman", "--root", filepath.Join(p.dir, "root"),
		"--runroot", filepath.Join(p.dir, "runroot"), "--storage-driver", "vfs"}, args...)
	cmd := exec.Command("nsenter", argv...)
	cmd.Env = append(os.Environ(), "CONTAINERS_CONF="+filepath.Join(p.dir, "containers.conf"))
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// TestPodman: Podman 4.3 (Debian 12, CNI backend) as the runtime, both
// forms as conflists beside a cluster network, a client on another
// subnet. Podman attaches a container's networks in random order: when
// the egress network comes first, the start fails with the hint and
// leaves the node as it was; a later start succeeds. The cluster CIDR is
// the cluster network's own subnet (skipped, not "file exists"). Removing
// the container leaves the node as it was.
func TestPodman(t *testing.T) {
	topo := up(t)
	pm := newPodman(t, topo)
	for _, s := range []struct{ proto, addr string }{{"tcp", testnet.FarServerIP + ":8080"}, {"udp", testnet.FarServerIP + ":5353"}} {
		srv, err := nstest.Serve(topo.Far, s.proto, s.addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(srv.Close)
	}
	node := nstest.MustTake(t, topo.Node)
	for _, network := range []string{"egress-chain", "egress-single"} {
		t.Run(network, func(t *testing.T) {
			name := "router-" + network
			started, refused := false, 0
			for try := 0; try < 16 && !started; try++ {
				out, err := pm.run("run", "-d", "--name", name, "--cgroup-parent", pm.cgroup,
					"--network", "cluster:interface_name=eth0", "--network", network+":interface_name=net1",
					"--rootfs", filepath.Join(pm.dir, "rootfs"), "/pause")
				if err == nil {
					started = true
					break
				}
				if !strings.Contains(out, `clusterInterface "eth0" not found in the pod`) ||
					!strings.Contains(out, "the cluster network must be attached before the egress one") {
					t.Fatalf("podman run: %v: %s", err, out)
				}
				refused++
				if out, err := pm.run("rm", "-f", name); err != nil {
					t.Fatalf("podman rm after a refused start: %v: %s", err, out)
				}
				node.Unchanged(t, topo.Node, "after a start with the egress network first")
			}
			if !started {
				t.Fatalf("%d starts in a row attached the egress network first", refused)
			}
			t.Logf("%s: %d starts refused (egress network first) before one succeeded", network, refused)
			netns, err := pm.run("inspect", "--format", "{{.NetworkSettings.SandboxKey}}", name)
			if err != nil {
				t.Fatalf("podman inspect: %v: %s", err, netns)
			}
			eth0, err := exec.Command("nsenter", "--net="+netns, "ip", "-o", "-4", "addr", "show", "eth0").Output()
			if err != nil {
				t.Fatalf("eth0 in %s: %v", netns, err)
			}
			f := strings.Fields(string(eth0))
			if len(f) < 4 || !strings.HasPrefix(f[3], "10.88.5.") {
				t.Fatalf("eth0 in the container: %q", eth0)
			}
			ip := strings.Split(f[3], "/")[0]
			// The client (10.130.0.5) is outside the cluster CIDR: only
			// the reply path brings its answers back.
			for _, q := range []struct{ proto, port string }{{"tcp", "80"}, {"udp", "5353"}} {
				saw, err := nstest.Ask(topo.Client, q.proto, ip+":"+q.port)
				if err != nil || nstest.SourceIP(saw) != testnet.ReservedIP {
					t.Errorf("%s to %s:%s: the server saw %q (%v), want %s", q.proto, ip, q.port, saw, err, testnet.ReservedIP)
				}
			}
			ours, err := exec.Command("nsenter", "--net="+netns, "ip", "-4", "route", "show", "proto", "69").Output()
			if err != nil || strings.Contains(string(ours), podmanSubnet) {
				t.Errorf("a route of ours for the cluster network's own subnet (%v):\n%s", err, ours)
			}
			if out, err := pm.run("rm", "-f", name); err != nil {
				t.Fatalf("podman rm: %v: %s", err, out)
			}
			if _, err := os.Stat(netns); !os.IsNotExist(err) {
				t.Errorf("the container's netns %s is still there after rm (%v)", netns, err)
			}
			node.Unchanged(t, topo.Node, "after podman rm")
		})
	}
}
