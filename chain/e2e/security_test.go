package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/egress-router/egress-router/chain/nstest"
	"github.com/egress-router/egress-router/chain/testnet"
)

// The tenant tests: a namespace admin writes the NAD; the plugins run as
// root on the node. Each exploit tried against the earlier plugins runs
// here as Multus would run it (environment and stdin, from the node's
// namespace) and must get a CNI error naming the field and the value,
// with nothing written, executed or read outside the node's policy and
// the pod and node unchanged.

// tenant is a router pod in namespace tenant on a fresh test network.
type tenant struct {
	topo *testnet.Topology
	bin  string
	// fakes is a folder first in CNI_PATH for stand-in binaries.
	fakes string
}

func newTenant(t *testing.T) *tenant {
	t.Helper()
	return &tenant{topo: up(t), bin: nstest.BinDir(t), fakes: t.TempDir()}
}

func (tn *tenant) call(cmd string) nstest.Call {
	return nstest.Call{Command: cmd, ContainerID: "tenant-" + tn.topo.Prefix, Netns: nstest.Path(tn.topo.Router), IfName: "net1",
		Args: "IgnoreUnknown=1;K8S_POD_NAMESPACE=tenant;K8S_POD_NAME=router-0", Path: tn.fakes + ":" + tn.bin, RunIn: tn.topo.Node}
}

// run runs egress-router and checks the calls' hygiene: no panic, stdout
// a CNI result or error.
func (tn *tenant) run(t *testing.T, cmd, conf string) nstest.Outcome {
	t.Helper()
	out, err := nstest.Run(filepath.Join(tn.bin, "egress-router"), tn.call(cmd), []byte(conf))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.Stderr, "panic:") {
		t.Fatalf("%s panicked: %s", cmd, out.Stderr)
	}
	return out
}

// fake puts a stand-in for a binary first in CNI_PATH: a shell script.
func (tn *tenant) fake(t *testing.T, name, script string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(tn.fakes, name), []byte("#!/bin/sh\n"+script), 0o755); err != nil {
		t.Fatal(err)
	}
}

// helperMarker installs a stand-in egress-ipconfig that records that it
// ran, and returns the record's path.
func (tn *tenant) helperMarker(t *testing.T) string {
	t.Helper()
	marker := filepath.Join(t.TempDir(), "egress-ipconfig-ran")
	tn.fake(t, "egress-ipconfig", fmt.Sprintf("cat > %s\necho '{\"data\": {}}'\n", marker))
	return marker
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// routerConf is seed 001 with extra members.
func routerConf(extra string) string {
	s := `{"cniVersion": "1.0.0", "type": "egress-router", "name": "egress",
  "ip": {"addresses": ["192.168.12.99/24"], "destinations": ["192.168.12.91"], "gateway": "192.168.12.1"}`
	if extra != "" {
		s += ", " + extra
	}
	return s + "}"
}

// TestTenantLogFile: log_file cannot make root write a host file. The
// exploit: log_file a symlink to a shell start-up file, and a master name
// that is a command (it passes the interface-name check); a failing ADD
// logged the name into the start-up file.
func TestTenantLogFile(t *testing.T) {
	tn := newTenant(t)
	dir := t.TempDir()
	profile := filepath.Join(dir, "profile")
	if err := os.WriteFile(profile, []byte("# shell start-up\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "egress-router-log")
	if err := os.Symlink(profile, link); err != nil {
		t.Fatal(err)
	}
	pod := nstest.MustTake(t, tn.topo.Router)
	conf := routerConf(fmt.Sprintf(`"log_file": %q, "log_level": "debug", "interfaceArgs": {"master": "$(touch${IFS}x)"}`, link))
	tn.run(t, "ADD", conf).WantError(t, 7, "interfaceArgs.master", "$(touch${IFS}x)")
	pod.Unchanged(t, tn.topo.Router, "after the refused ADD")
	if b, _ := os.ReadFile(profile); string(b) != "# shell start-up\n" {
		t.Errorf("the start-up file was written: %q", b)
	}
	if target, err := os.Readlink(link); err != nil || target != profile {
		t.Errorf("the symlink was replaced: %q %v", target, err)
	}
	// Logged where the admin wants, under the file's base name.
	logged := filepath.Join(nstest.LogDir(), "egress-router-log")
	st, err := os.Lstat(logged)
	if err != nil || !st.Mode().IsRegular() || st.Mode().Perm() != 0o600 {
		t.Fatalf("log %s: %v %v, want a regular file, mode 0600", logged, st, err)
	}
	if b, _ := os.ReadFile(logged); !strings.Contains(string(b), "interfaceArgs.master") {
		t.Errorf("the log lacks the error:\n%s", b)
	}

	// Every command, including a DEL whose config does not parse, or does
	// not validate, writes only there.
	for i, del := range []string{
		fmt.Sprintf(`{"cniVersion": "1.0.0", "name": "x", "type": "egress-router", "log_file": %q, `, filepath.Join(dir, "a.log")),
		fmt.Sprintf(`{"cniVersion": "1.0.0", "name": "x", "type": "egress-router", "log_file": %q, "ip": "not an object"}`, filepath.Join(dir, "b.log")),
		fmt.Sprintf(`{"cniVersion": "1.0.0", "name": "x", "type": "egress-router", "log_file": %q, "log_level": "debug"}`, filepath.Join(dir, "c.log")),
	} {
		tn.run(t, "DEL", del)
		for _, f := range []string{"a.log", "b.log", "c.log"} {
			if exists(filepath.Join(dir, f)) {
				t.Errorf("DEL #%d wrote %s outside the log folder", i, f)
			}
		}
	}
	if !exists(filepath.Join(nstest.LogDir(), "c.log")) {
		t.Error("the DEL with a readable config did not log in the log folder")
	}
}

// kubeconfig writes a kubeconfig whose user runs a command (an exec
// credential plugin) and sends a host file as its token, against an
// address that answers nothing.
func kubeconfig(t *testing.T, marker, secret string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "tenant.kubeconfig")
	k := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://192.0.2.1:6443", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {tokenFile: %q, exec: {apiVersion: client.authentication.k8s.io/v1, command: /bin/sh, args: ["-c", "touch %s"], interactiveMode: Never}}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`, secret, marker)
	if err := os.WriteFile(p, []byte(k), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestTenantKubeconfig: a kubeconfig named in a NAD is not used unless
// the policy lists it: no command runs, no file is sent.
func TestTenantKubeconfig(t *testing.T) {
	tn := newTenant(t)
	ran := filepath.Join(t.TempDir(), "exec-ran")
	secret := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secret, []byte("node secret"), 0o600)
	kc := kubeconfig(t, ran, secret)
	helper := tn.helperMarker(t)
	pod := nstest.MustTake(t, tn.topo.Router)
	for _, c := range []struct{ field, conf string }{
		{"ipConfig.kubeconfig", fmt.Sprintf(`{"cniVersion": "1.0.0", "type": "egress-router", "name": "egress", "ipConfig": {"name": "ips", "kubeconfig": %q}}`, kc)},
		{"kubeconfig", fmt.Sprintf(`{"cniVersion": "1.0.0", "type": "egress-router", "name": "egress", "kubeconfig": %q, "ipConfig": {"name": "ips"}}`, kc)},
	} {
		tn.run(t, "ADD", c.conf).WantError(t, 7, c.field+` "`+kc+`"`, "not a kubeconfig")
		if exists(ran) || exists(helper) {
			t.Errorf("%s: the kubeconfig was used (exec ran: %v, egress-ipconfig ran: %v)", c.field, exists(ran), exists(helper))
		}
	}
	pod.Unchanged(t, tn.topo.Router, "after the refused ADDs")

	// Listed by the policy, the same kubeconfig reaches egress-ipconfig:
	// the stand-in would have noticed it above.
	nstest.UsePolicy(t, map[string]any{"kubeconfigs": []string{kc}})
	tn.run(t, "ADD", fmt.Sprintf(`{"cniVersion": "1.0.0", "type": "egress-router", "name": "egress", "ipConfig": {"name": "ips", "kubeconfig": %q}}`, kc))
	if b, err := os.ReadFile(helper); err != nil || !strings.Contains(string(b), kc) {
		t.Errorf("egress-ipconfig did not get the allowed kubeconfig: %q %v", b, err)
	}
}

// TestTenantConfigMapNamespace: ipConfig reads the pod's own namespace
// only; another is refused before anything is read, and the error says
// nothing of what that namespace holds.
func TestTenantConfigMapNamespace(t *testing.T) {
	tn := newTenant(t)
	helper := tn.helperMarker(t)
	conf := `{"cniVersion": "1.0.0", "type": "egress-router", "name": "egress", "ipConfig": {"namespace": "kube-system", "name": "secrets"}}`
	out := tn.run(t, "ADD", conf)
	out.WantError(t, 7, `ipConfig.namespace "kube-system"`, `pod's namespace "tenant"`)
	if exists(helper) {
		t.Error("egress-ipconfig ran for another namespace's ConfigMap")
	}
	if strings.Contains(out.Stdout, "keys") || strings.Contains(out.Stdout, "entries") {
		t.Errorf("the error tells what the namespace holds: %s", out.Stdout)
	}
	nstest.UsePolicy(t, map[string]any{"configMapNamespaces": []string{"kube-system"}})
	tn.run(t, "ADD", conf)
	if b, err := os.ReadFile(helper); err != nil || !strings.Contains(string(b), `"namespace":"kube-system"`) {
		t.Errorf("with the policy's leave, egress-ipconfig was not asked for kube-system: %q %v", b, err)
	}
}

// TestTenantInterfacesAndAddresses: masters, modes and reserved
// addresses the policy or the node rule out are refused before anything
// is created or announced.
func TestTenantInterfacesAndAddresses(t *testing.T) {
	tn := newTenant(t)
	pod := nstest.MustTake(t, tn.topo.Router)
	node := nstest.MustTake(t, tn.topo.Node)
	for _, c := range []struct {
		name, conf string
		policy     map[string]any
		frags      []string
	}{
		{"a master the policy does not list", routerConf(`"interfaceArgs": {"master": "vrouter"}`), map[string]any{"masters": []string{"ext0"}},
			[]string{`interfaceArgs.master "vrouter"`, "not a master link"}},
		{"an inferred master the policy does not list", routerConf(""), map[string]any{"masters": []string{"ens4"}},
			[]string{`interfaceArgs.master (inferred) "ext0"`}},
		{"loopback", routerConf(`"interfaceArgs": {"master": "lo"}`), nil, []string{`interfaceArgs.master "lo"`}},
		{"passthru", routerConf(`"interfaceArgs": {"master": "ext0", "mode": "passthru"}`), nil, []string{`interfaceArgs.mode "passthru"`}},
		{"the master's own address", strings.Replace(routerConf(""), "192.168.12.99/24", testnet.NodeMasterIP+"/24", 1), nil,
			[]string{`ip.addresses "192.168.12.2/24"`, "an address of this node"}},
		{"the gateway's address", strings.Replace(routerConf(""), "192.168.12.99/24", testnet.GatewayIP+"/24", 1), nil,
			[]string{"ip.gateway 192.168.12.1 is the reserved address itself"}},
		{"the pod network", `{"cniVersion": "1.0.0", "type": "egress-router", "name": "egress", "interfaceArgs": {"master": "ext0"},
		  "ip": {"addresses": ["10.129.2.50/23"], "destinations": ["192.168.12.91"], "gateway": "10.129.2.1"}}`, nil,
			[]string{`ip.addresses "10.129.2.50/23"`, "subnet 10.129.2.0/23 of the pod's cluster interface eth0"}},
		{"a cluster CIDR", routerConf(`"clusterCIDRs": ["192.168.0.0/16"]`), nil, []string{`ip.addresses "192.168.12.99/24"`, "192.168.0.0/16"}},
		{"outside the egress subnets", routerConf(""), map[string]any{"egressSubnets": []string{"192.168.13.0/24"}},
			[]string{`ip.addresses "192.168.12.99/24"`, "outside the egress subnets"}},
		{"outside the namespace's addresses", routerConf(""), map[string]any{"namespaces": map[string]any{"tenant": map[string]any{"addresses": []string{"192.168.12.50"}}}},
			[]string{`ip.addresses "192.168.12.99/24"`, `namespace "tenant"`}},
		{"a destination outside the namespace's", routerConf(""), map[string]any{"namespaces": map[string]any{"tenant": map[string]any{"destinations": []string{"203.0.113.0/24"}}}},
			[]string{"ip.destinations", "192.168.12.91 is outside the destinations"}},
		{"a namespace the policy does not admit", routerConf(""), map[string]any{"otherNamespaces": "deny"}, []string{`namespace "tenant"`}},
		{"a known key in another case", routerConf(`"LOG_FILE": "/etc/profile"`), nil, []string{"LOG_FILE", `write "log_file"`}},
		{"a key twice", routerConf(`"interfaceArgs": {"master": "ext0"}, "interfaceArgs": {"master": "vrouter"}`), nil, []string{"interfaceArgs", "twice"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.policy != nil {
				nstest.UsePolicy(t, c.policy)
			}
			tn.run(t, "ADD", c.conf).WantError(t, 7, c.frags...)
			pod.Unchanged(t, tn.topo.Router, "after the refused ADD")
			node.Unchanged(t, tn.topo.Node, "after the refused ADD")
		})
	}
}

// TestChildrenAreBounded: an interface plugin or egress-ipconfig that
// hangs, with a grandchild holding its output, fails ADD with a CNI error
// within the policy's bound, and nothing of it stays running.
func TestChildrenAreBounded(t *testing.T) {
	tn := newTenant(t)
	nstest.UsePolicy(t, map[string]any{"childTimeoutSeconds": 2})
	pod := nstest.MustTake(t, tn.topo.Router)
	for _, c := range []struct{ name, conf, bound string }{
		// ADD, then the rollback's DEL, each get the bound.
		{"macvlan", routerConf(`"interfaceArgs": {"master": "ext0"}`), "6s"},
		{"egress-ipconfig", `{"cniVersion": "1.0.0", "type": "egress-router", "name": "egress", "ipConfig": {"name": "ips"}}`, "4s"},
	} {
		t.Run(c.name, func(t *testing.T) {
			pids := filepath.Join(t.TempDir(), "pids")
			tn.fake(t, c.name, fmt.Sprintf("sleep 300 & echo $! >> %s\nwait\n", pids))
			t.Cleanup(func() { os.Remove(filepath.Join(tn.fakes, c.name)) })
			start := time.Now()
			tn.run(t, "ADD", c.conf).WantError(t, 11, c.name, "did not finish in time (2s)")
			bound, _ := time.ParseDuration(c.bound)
			if took := time.Since(start); took > bound {
				t.Errorf("ADD returned after %s, want within %s", took, bound)
			}
			b, _ := os.ReadFile(pids)
			for _, p := range strings.Fields(string(b)) {
				pid, _ := strconv.Atoi(p)
				if alive(pid) {
					t.Errorf("the %s's grandchild %d outlived ADD", c.name, pid)
					syscall.Kill(pid, syscall.SIGKILL)
				}
			}
			if len(strings.Fields(string(b))) == 0 {
				t.Errorf("the stand-in %s never ran", c.name)
			}
			pod.Unchanged(t, tn.topo.Router, "after the bounded ADD")
		})
	}
}

// alive reports whether pid runs (a zombie awaiting its reaper does not).
func alive(pid int) bool {
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil || strings.Contains(string(st), ") Z ") {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return true
}
