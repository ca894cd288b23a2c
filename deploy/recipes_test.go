package deploy_test

import (
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/egress-router/egress-router/chain/nstest"
)

// TestRecipes checks deploy/recipes as TestManifests checks the
// manifests: each NAD is valid under the shipped policy and redirects
// nothing (the proxy decides what leaves), each Deployment runs
// egress-proxy from the installer image with flags it accepts, and its
// Service reaches the proxy's port. chain/e2e's TestProxyRecipes sends
// traffic through the same composition.
func TestRecipes(t *testing.T) {
	shipped := load(t, "kubernetes/*.yaml")
	o := load(t, "recipes/*.yaml")
	if len(o.deployments) != 2 || len(o.services) != 2 || len(o.nads) != 2 {
		t.Fatalf("%d deployments, %d services, %d NADs; want the HTTP and DNS proxies", len(o.deployments), len(o.services), len(o.nads))
	}
	image := shipped.daemonsets[0].Spec.Template.Spec.Containers[0].Image
	proxy := filepath.Join(nstest.BinDir(t), "egress-proxy")
	for i, d := range o.deployments {
		n := o.nads[d.Namespace+"/"+d.Spec.Template.Annotations["k8s.v1.cni.cncf.io/networks"]]
		if n == nil {
			t.Fatalf("%s names no NAD of the recipe", d.Name)
		}
		if r := checkNAD(t, n, shipped.policy); len(r) != 0 {
			t.Errorf("%s redirects %v: a proxy router's attachment redirects nothing", n.Name, r)
		}
		if !strings.Contains(n.Spec.Config, `"destinations": []`) {
			t.Errorf("%s: no empty destinations (routes only): %s", n.Name, n.Spec.Config)
		}
		c := d.Spec.Template.Spec.Containers[0]
		if c.Image != image || strings.Join(c.Command, " ") != "/egress-proxy" {
			t.Errorf("%s runs %v from %s, want /egress-proxy from %s", d.Name, c.Command, c.Image, image)
		}
		if out, err := exec.Command(proxy, append(append([]string{}, c.Args...), "-check")...).CombinedOutput(); err != nil {
			t.Errorf("%s: egress-proxy %v: %v: %s", d.Name, c.Args, err, out)
		}
		s := o.services[i]
		if len(s.Spec.Ports) != 1 || len(c.Ports) != 1 || s.Spec.Ports[0].TargetPort.String() != c.Ports[0].Name ||
			s.Spec.Ports[0].Protocol != c.Ports[0].Protocol || s.Spec.Selector["app"] != d.Spec.Template.Labels["app"] {
			t.Errorf("Service %s does not reach %s's port %+v", s.Name, d.Name, c.Ports)
		}
		listen := ""
		for j, a := range c.Args {
			if a == "-listen" && j+1 < len(c.Args) {
				listen = c.Args[j+1]
			}
		}
		if listen != ":"+itoa(c.Ports[0].ContainerPort) {
			t.Errorf("%s listens on %q, its port is %d", d.Name, listen, c.Ports[0].ContainerPort)
		}
		if sc := c.SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != corev1.Capability("ALL") {
			t.Errorf("%s: security context %+v", d.Name, sc)
		}
	}
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }
