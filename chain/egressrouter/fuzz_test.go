package egressrouter

import (
	"strings"
	"testing"

	"github.com/egress-router/egress-router/chain/config"
)

// FuzzRender: any input is refused with an error or gives resources that
// render; what renders carries every address and every rule into a NAD
// whose config the plugin accepts, and every object is named after the
// resource.
func FuzzRender(f *testing.F) {
	f.Add([]byte(anchor))
	f.Add([]byte(`{"apiVersion": "network.operator.openshift.io/v1", "kind": "EgressRouter", "metadata": {"name": "j"},
  "spec": {"addresses": [{"ip": "192.168.12.99/24"}, {"ip": "fd00:12::99/64", "gateway": "fd00:12::1"}], "redirect": {"fallbackIP": "203.0.113.5"}}}`))
	f.Add([]byte(strings.Replace(anchor, "protocol: UDP", "protocol: SCTP", 1) + "---\n" + anchor))
	f.Add([]byte("kind: EgressRouter\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		ers, err := ParseAll(in)
		if err != nil {
			return
		}
		for _, er := range ers {
			o, err := Render(er, Options{})
			if err != nil {
				if !strings.HasPrefix(err.Error(), "spec: ") {
					t.Fatalf("a render error that names no field: %v", err)
				}
				continue
			}
			c, err := config.ParseRouter([]byte(o.NAD.Spec.Config), config.Env{IfName: "net1"})
			if err != nil {
				t.Fatalf("the NAD's config is refused: %v\n%s", err, o.NAD.Spec.Config)
			}
			if len(c.Addrs) != len(er.Spec.Addresses) {
				t.Fatalf("%d addresses in the NAD, %d in the resource", len(c.Addrs), len(er.Spec.Addresses))
			}
			rules := 0
			if er.Spec.Redirect != nil {
				rules = len(er.Spec.Redirect.RedirectRules)
			}
			if got := len(c.Destinations.Rules); got != rules {
				t.Fatalf("%d rules in the NAD, %d in the resource", got, rules)
			}
			if o.NAD.Name != er.Name || o.Deployment.Name != er.Name || o.Service.Name != er.Name {
				t.Fatalf("objects %s/%s/%s for resource %s", o.NAD.Name, o.Deployment.Name, o.Service.Name, er.Name)
			}
			if _, err := o.YAML(); err != nil {
				t.Fatal(err)
			}
		}
	})
}
