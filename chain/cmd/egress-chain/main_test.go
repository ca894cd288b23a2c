package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/egress-router/egress-router/chain/policy"
)

const seed001 = `{"cniVersion":"0.4.0","type":"egress-router","name":"egress-router",
 "ip":{"addresses":["192.168.12.99/24"],"destinations":["192.168.12.91/32"],"gateway":"192.168.12.1"},
 "interfaceArgs":{"master":"ens4"}}`

func runWith(t *testing.T, stdin string, argv ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := run(argv, strings.NewReader(stdin), &out)
	return out.String(), err
}

func TestConflistFromStdin(t *testing.T) {
	out, err := runWith(t, seed001, "conflist", "-resolve=false")
	if err != nil {
		t.Fatal(err)
	}
	var l struct {
		Name    string
		Plugins []struct{ Type string }
	}
	if err := json.Unmarshal([]byte(out), &l); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	if l.Name != "egress-router" || len(l.Plugins) != 3 || l.Plugins[2].Type != "egress-nat" {
		t.Errorf("conflist %s", out)
	}
}

func TestNADFromFile(t *testing.T) {
	f := filepath.Join(t.TempDir(), "router.json")
	if err := os.WriteFile(f, []byte(seed001), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := runWith(t, "", "nad", "-resolve=false", "-form", "Single", "-namespace", "egress", "-name", "redirect", f)
	if err != nil {
		t.Fatal(err)
	}
	var n struct {
		Kind     string
		Metadata struct{ Name, Namespace string }
		Spec     struct{ Config string }
	}
	if err := json.Unmarshal([]byte(out), &n); err != nil {
		t.Fatal(err)
	}
	if n.Kind != "NetworkAttachmentDefinition" || n.Metadata.Name != "redirect" || n.Metadata.Namespace != "egress" ||
		!strings.Contains(n.Spec.Config, `"type": "egress-router"`) {
		t.Errorf("nad %s", out)
	}
}

func TestDryRunPodIP(t *testing.T) {
	conf := `{"cniVersion":"1.0.0","name":"r","type":"egress-router","interfaceArgs":{"master":"ens4"},
	  "podIP":{"a":{"addresses":["192.168.12.98/24"],"gateway":"192.168.12.1","destinations":["203.0.113.9"]},
	           "b":{"addresses":["192.168.12.97/24"],"gateway":"192.168.12.1","destinations":["203.0.113.9"]}}}`
	out, err := runWith(t, conf, "dry-run", "-resolve=false", "-pod", "b", "-ifname", "egress0")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{"snat to 192.168.12.97", "default via 192.168.12.1 dev egress0", "oifname egress0"} {
		if !strings.Contains(out, l) {
			t.Errorf("dry run lacks %q:\n%s", l, out)
		}
	}
	if _, err := runWith(t, conf, "dry-run", "-resolve=false"); err == nil || !strings.Contains(err.Error(), "K8S_POD_NAME") {
		t.Errorf("podIP without -pod: %v", err)
	}
}

func TestErrors(t *testing.T) {
	for _, c := range []struct {
		argv  []string
		stdin string
		frag  string
	}{
		{nil, "", "usage"},
		{[]string{"apply"}, seed001, `unknown command "apply"`},
		{[]string{"conflist", "-resolve=false"}, `{"name":"x","ip":{"addresses":["192.168.12.0/24"]}}`, "network address"},
		{[]string{"nad", "-resolve=false", "-form", "yaml"}, seed001, `form "yaml"`},
		{[]string{"conflist", "/nonexistent/router.json"}, "", "no such file"},
		{[]string{"conflist", "-bogus"}, seed001, "bogus"},
	} {
		out, err := runWith(t, c.stdin, c.argv...)
		if err == nil || !strings.Contains(err.Error(), c.frag) {
			t.Errorf("%v: error %v, want one with %q", c.argv, err, c.frag)
		}
		if out != "" {
			t.Errorf("%v: printed %q with the error", c.argv, out)
		}
	}
}

func TestDryRunIPConfig(t *testing.T) {
	conf := `{"cniVersion":"1.0.0","name":"r","type":"egress-router","interfaceArgs":{"master":"ens4"},
	  "ipConfig":{"name":"egress-file","overrides":{"addresses":["192.168.12.99/24"],"gateway":"192.168.12.1","destinations":["80 tcp 203.0.113.5 8080"]}}}`
	data := filepath.Join(t.TempDir(), "data.json")
	if err := os.WriteFile(data, []byte(`{"ip":"{\"addresses\":[\"192.168.12.99/24\"]}"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := runWith(t, conf, "dry-run", "-resolve=false", "-configmap-data", data, "-pod-namespace", "egress")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{"snat to 192.168.12.99", "default via 192.168.12.1 dev net1", "tcp . 80 : 203.0.113.5 . 8080"} {
		if !strings.Contains(out, l) {
			t.Errorf("dry run lacks %q:\n%s", l, out)
		}
	}
	if _, err := runWith(t, conf, "dry-run", "-resolve=false", "-pod-namespace", "egress"); err == nil || !strings.Contains(err.Error(), "not read") {
		t.Errorf("ipConfig without data: %v", err)
	}
}

func TestPolicyCommand(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(policy.PathEnv, filepath.Join(dir, "none.json"))
	out, err := runWith(t, "", "policy")
	if err != nil || !strings.Contains(out, "the default policy (no policy file): valid") || !strings.Contains(out, `"logDir": "/var/log/egress-router"`) {
		t.Errorf("default policy: %v\n%s", err, out)
	}
	good := filepath.Join(dir, "good.json")
	os.WriteFile(good, []byte(`{"masters": ["ens4"], "egressSubnets": ["192.168.12.0/24"]}`), 0o600)
	out, err = runWith(t, "", "policy", good)
	if err != nil || !strings.Contains(out, good+": valid") || !strings.Contains(out, `"otherNamespaces": "allow"`) {
		t.Errorf("good policy: %v\n%s", err, out)
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"Masters": ["ens4"]}`), 0o600)
	if _, err := runWith(t, "", "policy", bad); err == nil || !strings.Contains(err.Error(), `write "masters"`) {
		t.Errorf("bad policy: %v", err)
	}

	// A config checked against a policy, as the plugin would check it.
	if _, err := runWith(t, seed001, "dry-run", "-resolve=false", "-policy", good); err != nil {
		t.Errorf("seed 001 (master ens4, inside the subnet) refused: %v", err)
	}
	strict := filepath.Join(dir, "strict.json")
	os.WriteFile(strict, []byte(`{"masters": ["bond0"]}`), 0o600)
	if _, err := runWith(t, seed001, "dry-run", "-resolve=false", "-policy", strict); err == nil || !strings.Contains(err.Error(), `interfaceArgs.master "ens4"`) {
		t.Errorf("master outside the policy: %v", err)
	}
	ns := filepath.Join(dir, "ns.json")
	os.WriteFile(ns, []byte(`{"namespaces": {"egress": {"destinations": ["203.0.113.0/24"]}}}`), 0o600)
	if _, err := runWith(t, seed001, "dry-run", "-resolve=false", "-policy", ns, "-pod-namespace", "egress"); err == nil || !strings.Contains(err.Error(), "192.168.12.91 is outside the destinations") {
		t.Errorf("destination outside the namespace's limits: %v", err)
	}
}

// TestDryRunOfANAD: a NetworkAttachmentDefinition manifest, as deploy/
// ships it, is dry-run from its spec.config.
func TestDryRunOfANAD(t *testing.T) {
	t.Setenv(policy.PathEnv, filepath.Join(t.TempDir(), "none.json"))
	out, err := runWith(t, "", "dry-run", "-resolve=false", "-pod-namespace", "egress", "../../../deploy/kubernetes/nad-operator.yaml")
	if err != nil || !strings.Contains(out, "8080 TCP") && !strings.Contains(out, "tcp . 8080 : 203.0.113.26 . 80") {
		t.Errorf("dry run of the operator NAD: %v\n%s", err, out)
	}
	if _, err := runWith(t, "", "dry-run", "-resolve=false", "../../../deploy/kubernetes/nad-conflist.yaml"); err == nil || !strings.Contains(err.Error(), "holds a conflist") {
		t.Errorf("conflist NAD: %v", err)
	}
}

// TestMain checks configs against the default policy, whatever this
// machine's own policy file says.
func TestMain(m *testing.M) {
	os.Setenv(policy.PathEnv, "/nonexistent/egress-router-policy.json")
	os.Exit(m.Run())
}

// render takes the shipped EgressRouter example from a file and from
// stdin, prints three objects per resource, and fails naming the field of
// a bad one.
func TestRender(t *testing.T) {
	example, err := os.ReadFile("../../../deploy/kubernetes/egressrouter.yaml")
	if err != nil {
		t.Fatal(err)
	}
	out, err := runWith(t, string(example), "render", "-namespace", "routers")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"kind: NetworkAttachmentDefinition", "kind: Deployment", "kind: Service"} {
		if n := strings.Count(out, want); n != 2 {
			t.Errorf("%d of %q, want one per router:\n%s", n, want, out)
		}
	}
	if strings.Count(out, "namespace: routers") != 6 || !strings.Contains(out, `"mode": "private"`) {
		t.Errorf("render output:\n%s", out)
	}
	_, err = runWith(t, strings.Replace(string(example), "protocol: UDP", "protocol: ICMP", 1), "render")
	if err == nil || !strings.Contains(err.Error(), `redirectRules[0].protocol: "ICMP"`) {
		t.Errorf("a bad protocol: %v", err)
	}
}
