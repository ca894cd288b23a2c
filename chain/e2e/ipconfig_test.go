package e2e

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/egress-router/egress-router/chain/nstest"
	"github.com/egress-router/egress-router/chain/testnet"
)

// TestIPConfig runs egress-router with ipConfig against a real etcd and
// kube-apiserver: the ConfigMap is read through egress-ipconfig with a
// kubeconfig, and the overrides decide what the pod gets.
func TestIPConfig(t *testing.T) {
	topo := up(t)
	api := nstest.StartAPIServer(t, topo.Node)
	// The node's policy lists the kubeconfigs these tests use; a config
	// naming another is refused before egress-ipconfig runs.
	nstest.UsePolicy(t, map[string]any{"kubeconfigs": []string{api.Kubeconfig, api.NobodyKubeconfig, api.Unreachable}})
	bin := nstest.BinDir(t)
	api.Apply(t, `apiVersion: v1
kind: Namespace
metadata: {name: egress}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: allowed, namespace: egress}
data:
  ip: '{"addresses": ["192.168.12.99/24"], "destinations": ["5353 udp 203.0.113.5", "80 tcp 203.0.113.5 8080", "443 tcp 203.0.113.9"]}'
---
apiVersion: v1
kind: ConfigMap
metadata: {name: outside, namespace: egress}
data:
  ip: '{"addresses": ["192.168.12.50/24"]}'
---
apiVersion: v1
kind: ConfigMap
metadata: {name: wide, namespace: egress}
data:
  ip: '{"addresses": ["192.168.12.98/1"], "gateway": "192.168.12.1"}'
---
apiVersion: v1
kind: ConfigMap
metadata: {name: othergw, namespace: egress}
data:
  ip: '{"addresses": ["192.168.12.99/24"], "gateway": "192.168.12.254"}'
---
apiVersion: v1
kind: ConfigMap
metadata: {name: yaml, namespace: egress}
data:
  podIP: |
    router-0:
      addresses: [192.168.12.99/24]
`)
	conf := func(name, kubeconfig string) []byte {
		return []byte(fmt.Sprintf(`{"cniVersion": "1.1.0", "name": "egress", "type": "egress-router",
  "interfaceArgs": {"master": "ext0"}, "clusterCIDRs": ["10.128.0.0/14"],
  "ipConfig": {"name": %q, "kubeconfig": %q,
    "overrides": {"addresses": ["192.168.12.99/24"], "gateway": "192.168.12.1",
                  "destinations": ["80 tcp 203.0.113.5 8080", "5353 udp 203.0.113.5", "192.168.12.91"]}}}`, name, kubeconfig))
	}
	call := func(cmd string) nstest.Call {
		return nstest.Call{Command: cmd, ContainerID: "ipconfig", Netns: nstest.Path(topo.Router), IfName: "net1",
			Args: "IgnoreUnknown=1;K8S_POD_NAMESPACE=egress;K8S_POD_NAME=router-0", Path: bin, RunIn: topo.Node}
	}
	runRouter := func(cmd string, stdin []byte) nstest.Outcome {
		t.Helper()
		out, err := nstest.Run("egress-router", call(cmd), stdin)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	before := nstest.MustTake(t, topo.Router)

	t.Run("allowed, destinations intersected", func(t *testing.T) {
		out := runRouter("ADD", conf("allowed", api.Kubeconfig))
		if out.ExitCode != 0 {
			t.Fatalf("ADD: %s %s", out.Stdout, out.Stderr)
		}
		nat := strings.Join(nstest.NATLines(t, topo.Router, 4), "\n")
		// The ConfigMap's 443 rule is not in the overrides: left out. The
		// overrides' fallback is not in the ConfigMap: not added.
		for _, want := range []string{"80", "5353", "203.0.113.5"} {
			if !strings.Contains(nat, want) {
				t.Errorf("NAT lacks %q:\n%s", want, nat)
			}
		}
		for _, not := range []string{"443", "203.0.113.9", "192.168.12.91"} {
			if strings.Contains(nat, not) {
				t.Errorf("NAT has %q, which the intersection drops:\n%s", not, nat)
			}
		}
		if !strings.Contains(out.Stdout, `"192.168.12.99/24"`) || !strings.Contains(out.Stdout, `"192.168.12.1"`) {
			t.Errorf("result lacks the address or the forced gateway: %s", out.Stdout)
		}
		// Traffic to a kept port leaves from the reserved address.
		srv, err := nstest.Serve(topo.Far, "tcp", testnet.FarServerIP+":8080")
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		saw, err := nstest.Ask(topo.Client, "tcp", testnet.RouterPodIP+":80")
		if err != nil || nstest.SourceIP(saw) != testnet.ReservedIP {
			t.Errorf("the server saw %q (%v), want %s", saw, err, testnet.ReservedIP)
		}
		if out := runRouter("DEL", conf("allowed", api.Kubeconfig)); out.ExitCode != 0 {
			t.Fatalf("DEL: %s", out.Stdout)
		}
		before.Unchanged(t, topo.Router, "after DEL")
	})

	t.Run("YAML podIP entry", func(t *testing.T) {
		out := runRouter("ADD", conf("yaml", api.Kubeconfig))
		if out.ExitCode != 0 {
			t.Fatalf("ADD: %s %s", out.Stdout, out.Stderr)
		}
		// No destinations in the ConfigMap: the overrides' are the default.
		nat := strings.Join(nstest.NATLines(t, topo.Router, 4), "\n")
		if !strings.Contains(nat, "192.168.12.91") {
			t.Errorf("NAT lacks the overrides' fallback:\n%s", nat)
		}
		if out := runRouter("DEL", conf("yaml", api.Kubeconfig)); out.ExitCode != 0 {
			t.Fatalf("DEL: %s", out.Stdout)
		}
	})

	// An allow-list entry without a prefix admits its address with the
	// egress subnet's prefix (the master's: 192.168.12.0/24) or as a host
	// address, never a wider one (a /1 was accepted).
	t.Run("bare allow-list entry and a wide prefix", func(t *testing.T) {
		bare := bytes.Replace(conf("wide", api.Kubeconfig), []byte(`"addresses": ["192.168.12.99/24"]`), []byte(`"addresses": ["192.168.12.98"]`), 1)
		runRouter("ADD", bare).WantError(t, 7, "egress/wide", `address "192.168.12.98/1"`, "without a prefix", "[24 32]")
		before.Unchanged(t, topo.Router, "after a refused ADD")
	})

	for _, c := range []struct {
		name, cm, kubeconfig string
		code                 uint
		frags                []string
	}{
		{"address outside the allow list", "outside", api.Kubeconfig, 7, []string{"egress/outside", "192.168.12.50/24", "overrides.addresses"}},
		{"a different gateway", "othergw", api.Kubeconfig, 7, []string{"egress/othergw", "192.168.12.254", "may not change"}},
		{"ConfigMap missing", "nosuch", api.Kubeconfig, 7, []string{"egress/nosuch", "not found"}},
		{"no rights", "allowed", api.NobodyKubeconfig, 7, []string{"egress/allowed", "access denied"}},
		{"API server unreachable", "allowed", api.Unreachable, 11, []string{"egress/allowed", "cannot be reached"}},
		{"a kubeconfig the policy does not list", "allowed", "/root/.kube/config", 7, []string{`ipConfig.kubeconfig "/root/.kube/config"`, "not a kubeconfig"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			runRouter("ADD", conf(c.cm, c.kubeconfig)).WantError(t, c.code, c.frags...)
			before.Unchanged(t, topo.Router, "after a refused ADD")
			// DEL needs no API server.
			if out := runRouter("DEL", conf(c.cm, api.Unreachable)); out.ExitCode != 0 {
				t.Errorf("DEL: %s", out.Stdout)
			}
		})
	}
}
