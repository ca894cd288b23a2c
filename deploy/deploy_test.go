// Package deploy_test checks the deployment assets against the code, so an
// example cannot drift: every manifest decodes strictly into its API type,
// every NetworkAttachmentDefinition's config parses with the plugins' own
// config code, and the pieces refer to each other correctly.
package deploy_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/containernetworking/cni/libcni"
	nadv1 "github.com/k8snetworkplumbingwg/network-attachment-definition-client/pkg/apis/k8s.cni.cncf.io/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"

	"github.com/egress-router/egress-router/chain/config"
	"github.com/egress-router/egress-router/chain/dest"
	"github.com/egress-router/egress-router/chain/egressrouter"
	"github.com/egress-router/egress-router/chain/policy"
)

// operatorConfig is the operator's rendered spec.config for a typical
// EgressRouter CR, byte for byte.
const operatorConfig = "{ \"cniVersion\": \"0.4.0\", \"type\": \"egress-router\", \"name\": \"egress-router-cni-nad\", \"ip\": { \"addresses\": [ \"192.168.3.10/24\" ], \"destinations\": [\"80 UDP 10.0.0.99\",\"8080 TCP 203.0.113.26 80\",\"8443 TCP 203.0.113.27 443\"],\n\"fallbackIP\": \"192.168.12.99\",\n\"gateway\": \"192.168.3.1\" }, \"log_file\": \"/tmp/egress-router-log\", \"log_level\": \"debug\" }"

type objects struct {
	nads        map[string]*nadv1.NetworkAttachmentDefinition // namespace/name
	deployments []*appsv1.Deployment
	daemonsets  []*appsv1.DaemonSet
	services    []*corev1.Service
	roles       []*rbacv1.ClusterRole
	bindings    []*rbacv1.RoleBinding
	policy      *policy.Policy
	// egressRouters are what egress-chain render makes of egressrouter.yaml.
	egressRouters []*egressrouter.Objects
}

func load(t *testing.T, glob string) *objects {
	t.Helper()
	files, err := filepath.Glob(glob)
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests: %v", err)
	}
	o := &objects{nads: map[string]*nadv1.NetworkAttachmentDefinition{}}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range bytes.Split(b, []byte("\n---\n")) {
			var meta struct{ Kind, APIVersion string }
			if err := yaml.Unmarshal(doc, &meta); err != nil {
				t.Fatalf("%s #%d: %v", f, i, err)
			}
			var into any
			switch meta.Kind {
			case "NetworkAttachmentDefinition":
				n := &nadv1.NetworkAttachmentDefinition{}
				into = n
				defer func() { o.nads[n.Namespace+"/"+n.Name] = n }()
			case "Deployment":
				d := &appsv1.Deployment{}
				into, o.deployments = d, append(o.deployments, d)
			case "DaemonSet":
				d := &appsv1.DaemonSet{}
				into, o.daemonsets = d, append(o.daemonsets, d)
			case "Service":
				s := &corev1.Service{}
				into, o.services = s, append(o.services, s)
			case "ClusterRole":
				r := &rbacv1.ClusterRole{}
				into, o.roles = r, append(o.roles, r)
			case "RoleBinding":
				r := &rbacv1.RoleBinding{}
				into, o.bindings = r, append(o.bindings, r)
			case "ConfigMap":
				cm := &corev1.ConfigMap{}
				into = cm
				defer func() {
					p, err := policy.Parse([]byte(cm.Data["policy.json"]))
					if err != nil {
						t.Fatalf("%s: the policy ConfigMap's policy.json: %v", f, err)
					}
					o.policy = p
				}()
			case "EgressRouter":
				// rendered, not applied: the render must take it
				ers, err := egressrouter.ParseAll(doc)
				if err != nil {
					t.Fatalf("%s #%d: %v", f, i, err)
				}
				for _, er := range ers {
					objs, err := egressrouter.Render(er, egressrouter.Options{})
					if err != nil {
						t.Fatalf("%s #%d: %v", f, i, err)
					}
					o.egressRouters = append(o.egressRouters, objs)
				}
				continue
			default:
				t.Fatalf("%s #%d: kind %q has no check here", f, i, meta.Kind)
			}
			// Strict: a misspelled field is an error, as kubectl --validate would say.
			if err := yaml.UnmarshalStrict(doc, into); err != nil {
				t.Fatalf("%s #%d (%s): %v", f, i, meta.Kind, err)
			}
		}
	}
	return o
}

// checkNAD parses a NAD's config, as the plugins would for a pod of its
// namespace under the shipped policy, and returns its per-port rules.
func checkNAD(t *testing.T, n *nadv1.NetworkAttachmentDefinition, pol *policy.Policy) []dest.Rule {
	t.Helper()
	env := config.Env{IfName: "net1", PodNamespace: n.Namespace, Policy: pol}
	cfg := []byte(n.Spec.Config)
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(cfg, &probe); err != nil {
		t.Fatalf("%s: spec.config is not JSON: %v", n.Name, err)
	}
	if _, ok := probe["plugins"]; !ok {
		// The single plugin, as Multus would hand it to libcni.
		//lint:ignore SA1019 Multus v4.3 loads a single-plugin config with ConfFromBytes; test what it does
		if _, err := libcni.ConfFromBytes(cfg); err != nil {
			t.Fatalf("%s: libcni: %v", n.Name, err)
		}
		dests, err := config.Validate(config.EgressRouter, cfg, env)
		if err != nil {
			t.Fatalf("%s: egress-router rejects its config: %v", n.Name, err)
		}
		return dests.Rules
	}
	l, err := libcni.ConfListFromBytes(cfg)
	if err != nil {
		t.Fatalf("%s: libcni: %v", n.Name, err)
	}
	var rules []dest.Rule
	for _, p := range l.Plugins {
		switch p.Network.Type {
		case "macvlan", "ipvlan":
			var ic struct {
				Master string
				IPAM   struct{ Type string }
			}
			_ = json.Unmarshal(p.Bytes, &ic)
			if ic.Master == "" || ic.IPAM.Type != "static" {
				t.Errorf("%s: %s needs a master and static IPAM: %s", n.Name, p.Network.Type, p.Bytes)
			}
		case "egress-route":
			if _, err := config.Validate(config.EgressRoute, p.Bytes, env); err != nil {
				t.Errorf("%s: egress-route rejects its config: %v", n.Name, err)
			}
		case "egress-nat":
			dests, err := config.Validate(config.EgressNAT, p.Bytes, env)
			if err != nil {
				t.Fatalf("%s: egress-nat rejects its config: %v", n.Name, err)
			}
			rules = dests.Rules
		default:
			t.Errorf("%s: plugin %q is not one we ship", n.Name, p.Network.Type)
		}
	}
	return rules
}

func TestManifests(t *testing.T) {
	o := load(t, "kubernetes/*.yaml")
	for _, want := range []string{"egress/egress-router", "egress/egress-router-chain", "egress/egress-router-cni-nad"} {
		if o.nads[want] == nil {
			t.Errorf("no NAD %s", want)
		}
	}
	rules := map[string][]dest.Rule{}
	for key, n := range o.nads {
		rules[key] = checkNAD(t, n, o.policy)
	}
	// The operator's NAD is its exact rendering.
	if n := o.nads["egress/egress-router-cni-nad"]; n != nil && n.Spec.Config != operatorConfig {
		t.Errorf("the operator NAD's config drifted from the operator's rendering:\n%q", n.Spec.Config)
	}
	// egress-chain render makes of the operator's example resource a NAD
	// with the rules the operator's own NAD has, under the shipped policy,
	// and names each router's objects after it.
	if len(o.egressRouters) != 2 {
		t.Fatalf("egressrouter.yaml renders %d routers, want 2", len(o.egressRouters))
	}
	for i, er := range o.egressRouters {
		r := checkNAD(t, er.NAD, o.policy)
		name := er.NAD.Name
		if er.Deployment.Name != name || er.Service.Name != name || er.Deployment.Spec.Template.Annotations["k8s.v1.cni.cncf.io/networks"] != name {
			t.Errorf("router %d: NAD %s, Deployment %s, Service %s: not named after the resource", i, name, er.Deployment.Name, er.Service.Name)
		}
		if i == 0 && fmt.Sprint(r) != fmt.Sprint(rules["egress/egress-router-cni-nad"]) {
			t.Errorf("the rendered %s has rules %v, the operator's NAD %v", name, r, rules["egress/egress-router-cni-nad"])
		}
	}
	// The single and conflist forms describe the same router.
	single, chain := o.nads["egress/egress-router"], o.nads["egress/egress-router-chain"]
	if single != nil && chain != nil {
		c, _ := config.ParseRouter([]byte(single.Spec.Config), config.Env{IfName: "net1"})
		c.Interface.Master = "ens4" // the conflist names it; the single form infers it
		var fromSingle, inFile map[string]any
		b, _ := json.Marshal(c.Conflist())
		_ = json.Unmarshal(b, &fromSingle)
		_ = json.Unmarshal([]byte(chain.Spec.Config), &inFile)
		if a, b := canon(fromSingle), canon(inFile); a != b {
			t.Errorf("the conflist NAD is not the single NAD's chain:\n%s\n%s", a, b)
		}
	}

	// The router pod names a NAD of its namespace, and the Service in
	// front of it only exposes ports the NAD redirects.
	if len(o.deployments) != 1 || len(o.services) != 1 {
		t.Fatalf("%d deployments, %d services", len(o.deployments), len(o.services))
	}
	d, s := o.deployments[0], o.services[0]
	if d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType || *d.Spec.Replicas != 1 {
		t.Errorf("router Deployment: strategy %q replicas %d; two pods must never hold the reserved address at once", d.Spec.Strategy.Type, *d.Spec.Replicas)
	}
	netName := d.Spec.Template.Annotations["k8s.v1.cni.cncf.io/networks"]
	nadRules, ok := rules[d.Namespace+"/"+netName]
	if !ok {
		t.Fatalf("the router pod asks for network %q, which is not a NAD in %s", netName, d.Namespace)
	}
	for k, v := range s.Spec.Selector {
		if d.Spec.Template.Labels[k] != v {
			t.Errorf("the Service selects %s=%s, the router pod has %v", k, v, d.Spec.Template.Labels)
		}
	}
	for _, p := range s.Spec.Ports {
		found := false
		for _, r := range nadRules {
			found = found || (r.Port == int(p.Port) && strings.EqualFold(r.Proto, string(p.Protocol)))
		}
		if !found {
			t.Errorf("Service port %d/%s has no destination in NAD %s", p.Port, p.Protocol, netName)
		}
	}

	checkInstaller(t, o)

	// ipConfig's reader may get ConfigMaps, in the routers' namespace
	// only: the policy lets a pod read its own namespace's, no other.
	if len(o.roles) != 1 || len(o.bindings) != 1 || o.bindings[0].RoleRef.Name != o.roles[0].Name ||
		o.roles[0].Rules[0].Resources[0] != "configmaps" || strings.Join(o.roles[0].Rules[0].Verbs, ",") != "get" ||
		o.bindings[0].Namespace != d.Namespace {
		t.Errorf("RBAC: roles %+v bindings %+v", o.roles, o.bindings)
	}
}

// checkInstaller: the installer copies once and exits; what keeps
// running holds nothing; the image is pinned to the Makefile's VERSION.
func checkInstaller(t *testing.T, o *objects) {
	t.Helper()
	if len(o.daemonsets) != 1 || o.policy == nil {
		t.Fatalf("%d daemonsets, policy %v", len(o.daemonsets), o.policy)
	}
	ds := o.daemonsets[0]
	spec := ds.Spec.Template.Spec
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		t.Error("the installer pod gets a service-account token")
	}
	if len(spec.InitContainers) != 1 || len(spec.Containers) != 1 {
		t.Fatalf("%d init containers, %d containers", len(spec.InitContainers), len(spec.Containers))
	}
	mk, err := os.ReadFile("../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	version := regexp.MustCompile(`(?m)^VERSION := (\S+)$`).FindSubmatch(mk)
	if version == nil {
		t.Fatal("the Makefile has no VERSION")
	}
	image := "ghcr.io/egress-router/egress-router-cni:" + string(version[1])
	for _, c := range append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...) {
		sc := c.SecurityContext
		if c.Image != image {
			t.Errorf("%s: image %q, want %q (pinned to the Makefile's VERSION)", c.Name, c.Image, image)
		}
		if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
			sc.Capabilities == nil || len(sc.Capabilities.Add) != 0 || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" || sc.Privileged != nil {
			t.Errorf("%s: security context %+v: want a read-only root, no privilege escalation, every capability dropped", c.Name, sc)
		}
	}
	install, pause := spec.InitContainers[0], spec.Containers[0]
	cmd := strings.Join(install.Command, " ")
	if !strings.Contains(cmd, "-once") {
		t.Errorf("installer command %q does not exit after copying", cmd)
	}
	mounts := map[string]string{}
	for _, m := range install.VolumeMounts {
		mounts[m.Name] = m.MountPath
	}
	hostPaths := map[string]string{}
	for _, v := range spec.Volumes {
		if v.HostPath != nil {
			hostPaths[v.Name] = v.HostPath.Path
		}
	}
	for vol, host := range map[string]string{"cni-bin": "/opt/cni/bin", "policy-dir": filepath.Dir(policy.DefaultPath)} {
		if hostPaths[vol] != host {
			t.Errorf("volume %s is hostPath %q, want %s", vol, hostPaths[vol], host)
		}
	}
	if !strings.Contains(cmd, "-dest "+mounts["cni-bin"]) || !strings.Contains(cmd, "-policy-dest "+mounts["policy-dir"]+"/"+filepath.Base(policy.DefaultPath)) ||
		!strings.Contains(cmd, "-policy-src "+mounts["policy"]+"/policy.json") {
		t.Errorf("installer command %q does not write to its mounts %v", cmd, mounts)
	}
	if len(pause.VolumeMounts) != 0 || pause.SecurityContext.RunAsNonRoot == nil || !*pause.SecurityContext.RunAsNonRoot ||
		strings.Join(pause.Command, " ") != "/egress-install -pause" {
		t.Errorf("the long-running container %+v holds something", pause)
	}
	cf, err := os.ReadFile("Containerfile")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(cf, []byte(image+" ")) || bytes.Contains(cf, []byte(":latest")) {
		t.Errorf("the Containerfile does not build %s", image)
	}
}

func canon(v map[string]any) string {
	b, _ := json.Marshal(v) // map keys are sorted
	return string(b)
}

// The image carries every binary the chain needs, egress-install and egress-proxy.
func TestContainerfile(t *testing.T) {
	b, err := os.ReadFile("Containerfile")
	if err != nil {
		t.Fatal(err)
	}
	for _, bin := range []string{"egress-router", "egress-ipconfig", "egress-route", "egress-nat", "macvlan", "ipvlan", "static", "egress-install", "egress-proxy"} {
		if !bytes.Contains(b, []byte("/out/"+bin)) {
			t.Errorf("Containerfile does not copy %s", bin)
		}
	}
	mk, err := os.ReadFile("../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	for _, src := range []string{"./deploy/egress-install", "./chain/cmd/egress-ipconfig", "plugins/main/ipvlan", "plugins/ipam/static", "plugins/main/macvlan"} {
		if !bytes.Contains(mk, []byte(src)) {
			t.Errorf("make build does not build %s, which the image copies", src)
		}
	}
}
