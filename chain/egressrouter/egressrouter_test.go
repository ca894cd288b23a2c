package egressrouter

import (
	"encoding/json"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// anchor is the resource the operator's templates were rendered from
// (docs/migration.md), with the master and mode the operator drops.
const anchor = `apiVersion: network.operator.openshift.io/v1
kind: EgressRouter
metadata: {name: egress-router-a, namespace: egress}
spec:
  addresses:
    - {ip: 192.168.3.10/24, gateway: 192.168.3.1}
  mode: Redirect
  redirect:
    redirectRules:
      - {destinationIP: 10.0.0.99, port: 80, protocol: UDP}
      - {destinationIP: 203.0.113.26, port: 8080, targetPort: 80, protocol: TCP}
      - {destinationIP: 203.0.113.27, port: 8443, targetPort: 443, protocol: TCP}
    fallbackIP: 192.168.12.99
  networkInterface:
    macvlan: {mode: Private, master: ens4}
`

func render(t *testing.T, doc string) *Objects {
	t.Helper()
	er, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	o, err := Render(er, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// Everything the resource says reaches the NAD: the operator drops the
// master, the mode and every address after the first.
func TestRenderCarriesEverything(t *testing.T) {
	o := render(t, anchor)
	var conf map[string]any
	if err := json.Unmarshal([]byte(o.NAD.Spec.Config), &conf); err != nil {
		t.Fatal(err)
	}
	ip := conf["ip"].(map[string]any)
	for _, want := range []struct{ what, got, want string }{
		{"name", o.NAD.Name + " " + o.NAD.Namespace, "egress-router-a egress"},
		{"type", conf["type"].(string), "egress-router"},
		{"addresses", strings.Join(strs(ip["addresses"]), ","), "192.168.3.10/24"},
		{"gateway", ip["gateway"].(string), "192.168.3.1"},
		{"destinations", strings.Join(strs(ip["destinations"]), ","), "80 udp 10.0.0.99,8080 tcp 203.0.113.26 80,8443 tcp 203.0.113.27 443,192.168.12.99"},
		{"master", conf["interfaceArgs"].(map[string]any)["master"].(string), "ens4"},
		{"mode", conf["interfaceArgs"].(map[string]any)["mode"].(string), "private"},
		{"deployment", o.Deployment.Name + " " + o.Deployment.Spec.Template.Annotations["k8s.v1.cni.cncf.io/networks"], "egress-router-a egress-router-a"},
		{"selector", o.Service.Spec.Selector[RouterLabel] + " " + o.Deployment.Spec.Template.Labels[RouterLabel], "egress-router-a egress-router-a"},
	} {
		if want.got != want.want {
			t.Errorf("%s: got %q, want %q", want.what, want.got, want.want)
		}
	}
	var ports []string
	for _, p := range o.Service.Spec.Ports {
		ports = append(ports, string(p.Protocol)+" "+p.Name+" "+p.TargetPort.String())
	}
	if got := strings.Join(ports, ","); got != "UDP udp-80 80,TCP tcp-8080 8080,TCP tcp-8443 8443" {
		t.Errorf("service ports %s", got)
	}
	if o.Service.Spec.ClusterIP != "" {
		t.Errorf("a router with rules gets a ClusterIP Service, got clusterIP %q", o.Service.Spec.ClusterIP)
	}
	y, err := o.YAML()
	if err != nil || strings.Count(string(y), "\n---\n") != 2 {
		t.Errorf("YAML: %v\n%s", err, y)
	}
}

func strs(v any) []string {
	var out []string
	for _, s := range v.([]any) {
		out = append(out, s.(string))
	}
	return out
}

// A dual-stack router keeps both addresses and both gateways; a router
// with no rules sends everything to its fallback, and its Service is
// headless, since no port list covers every port.
func TestDualStackFallbackOnly(t *testing.T) {
	o := render(t, `apiVersion: network.operator.openshift.io/v1
kind: EgressRouter
metadata: {name: dual}
spec:
  addresses: [{ip: 192.168.12.99/24, gateway: 192.168.12.1}, {ip: "fd00:12::99/64", gateway: "fd00:12::1"}]
  redirect: {fallbackIP: 203.0.113.5}
`)
	if len(o.Router.Addrs) != 2 || len(o.Router.Gateways) != 2 {
		t.Errorf("addresses %v gateways %v, want two of each", o.Router.Addrs, o.Router.Gateways)
	}
	if o.NAD.Namespace != "default" || o.Router.Interface.Mode != "bridge" {
		t.Errorf("namespace %q mode %q, want default and bridge", o.NAD.Namespace, o.Router.Interface.Mode)
	}
	if o.Service.Spec.ClusterIP != corev1.ClusterIPNone || len(o.Service.Spec.Ports) != 0 {
		t.Errorf("service %+v, want headless with no ports", o.Service.Spec)
	}
	if o.Service.Spec.IPFamilyPolicy == nil || *o.Service.Spec.IPFamilyPolicy != corev1.IPFamilyPolicyPreferDualStack {
		t.Errorf("a dual-stack router's Service is not dual stack: %v", o.Service.Spec.IPFamilyPolicy)
	}
}

// The CRD's schema and our own checks: each bad resource is refused with
// its field and value named.
func TestParseRefuses(t *testing.T) {
	good := func(edit func(string) string) string { return edit(anchor) }
	repl := func(old, new string) func(string) string {
		return func(s string) string {
			if !strings.Contains(s, old) {
				panic("no " + old)
			}
			return strings.Replace(s, old, new, 1)
		}
	}
	for _, c := range []struct{ name, doc, want string }{
		{"mode", good(repl("mode: Redirect", "mode: HTTPProxy")), `spec.mode: "HTTPProxy"`},
		{"redirect missing", good(func(s string) string { return s[:strings.Index(s, "  redirect:")] }), "spec.redirect: missing"},
		{"port 0", good(repl("port: 80,", "port: 0,")), "redirectRules[0].port: 0 is not in 1-65535"},
		{"port missing", good(repl("port: 80, ", "")), "redirectRules[0].port: missing"},
		{"target port", good(repl("targetPort: 443", "targetPort: 70000")), "redirectRules[2].targetPort: 70000"},
		{"protocol case", good(repl("protocol: UDP", "protocol: udp")), `redirectRules[0].protocol: "udp"`},
		{"destination", good(repl("destinationIP: 10.0.0.99", "destinationIP: example.com")), `redirectRules[0].destinationIP: "example.com"`},
		{"fallback", good(repl("fallbackIP: 192.168.12.99", "fallbackIP: 192.168.12")), `spec.redirect.fallbackIP: "192.168.12"`},
		{"macvlan mode", good(repl("mode: Private", "mode: private")), `spec.networkInterface.macvlan.mode: "private"`},
		{"address without prefix", good(repl("ip: 192.168.3.10/24", "ip: 192.168.3.10")), `spec.addresses[0].ip: "192.168.3.10"`},
		{"gateway", good(repl("gateway: 192.168.3.1", "gateway: gw")), `spec.addresses[0].gateway: "gw"`},
		{"no address", good(repl("    - {ip: 192.168.3.10/24, gateway: 192.168.3.1}\n", "")), "spec.addresses: missing"},
		{"unknown field", good(repl("fallbackIP:", "fallback: 1.2.3.4\n    fallbackIP:")), "spec.redirect.fallback: unknown key"},
		{"a key in another case", good(repl("fallbackIP:", "fallbackIp:")), `spec.redirect.fallbackIp: unknown key; keys are case-sensitive: write "fallbackIP"`},
		{"a repeated key", good(repl("mode: Redirect", "mode: Redirect\n  mode: Redirect")), "mode"},
		{"kind", good(repl("kind: EgressRouter", "kind: EgressIP")), `"EgressIP"`},
		{"name", good(repl("name: egress-router-a", "name: Egress_A")), `metadata.name: "Egress_A"`},
		{"two IPv4 addresses", good(repl("    - {ip: 192.168.3.10/24, gateway: 192.168.3.1}\n", "    - {ip: 192.168.3.10/24, gateway: 192.168.3.1}\n    - {ip: 192.168.3.11/24}\n")), "egress-router config it renders is refused"},
		{"a master with a slash", good(repl("master: ens4", "master: ../ens4")), "interfaceArgs.master"},
	} {
		t.Run(c.name, func(t *testing.T) {
			er, err := Parse([]byte(c.doc))
			if err == nil {
				_, err = Render(er, Options{})
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want an error with %q", err, c.want)
			}
		})
	}
}

// JSON is YAML too; a stream holds several resources; -namespace wins.
func TestParseAllJSONAndStreams(t *testing.T) {
	js := `{"apiVersion": "network.operator.openshift.io/v1", "kind": "EgressRouter", "metadata": {"name": "j"},
  "spec": {"addresses": [{"ip": "192.168.12.99/24"}], "redirect": {"fallbackIP": "203.0.113.5"}}}`
	ers, err := ParseAll([]byte(anchor + "---\n" + js + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ers) != 2 || ers[0].Name != "egress-router-a" || ers[1].Name != "j" {
		t.Fatalf("parsed %d: %+v", len(ers), ers)
	}
	o, err := Render(ers[0], Options{Namespace: "other", Image: "example.com/pause:1"})
	if err != nil {
		t.Fatal(err)
	}
	if o.NAD.Namespace != "other" || o.Service.Namespace != "other" || o.Deployment.Spec.Template.Spec.Containers[0].Image != "example.com/pause:1" {
		t.Errorf("namespace %s/%s, image %s", o.NAD.Namespace, o.Service.Namespace, o.Deployment.Spec.Template.Spec.Containers[0].Image)
	}
	if _, err := ParseAll([]byte("# nothing\n")); err == nil {
		t.Error("an empty stream parsed")
	}
	if _, err := ParseAll([]byte(anchor + "---\n" + strings.Replace(js, `"port"`, `"port"`, 1) + "\n---\nkind: EgressRouter\n")); err == nil || !strings.Contains(err.Error(), "document 2") {
		t.Errorf("a bad third document: %v, want an error naming document 2", err)
	}
}
