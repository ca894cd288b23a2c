package nad

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/containernetworking/cni/libcni"
	nadv1 "github.com/k8snetworkplumbingwg/network-attachment-definition-client/pkg/apis/k8s.cni.cncf.io/v1"

	"github.com/egress-router/egress-router/chain/config"
)

const operatorShape = `{ "cniVersion": "0.4.0", "type": "egress-router", "name": "egress-router-cni-nad", "ip": { "addresses": [ "192.168.3.10/24" ], "destinations": ["80 UDP 10.0.0.99","8080 TCP 203.0.113.26 80","8443 TCP 203.0.113.27 443"],
"fallbackIP": "192.168.12.99",
"gateway": "192.168.3.1" }, "interfaceArgs": {"master": "ens4", "mode": "Bridge"}, "log_file": "/tmp/egress-router-log", "log_level": "debug" }`

func summary(c *config.Router) string {
	return fmt.Sprintf("%s %s %v %v %v %q %+v", c.Name, c.CNIVersion, c.Interface, c.AddrStrings(), c.Gateways, c.Destinations.Lines(), c.Log)
}

// roundTrip marshals the NAD as the API server would store it and reads
// it back with the NAD client's types.
func roundTrip(t *testing.T, n *nadv1.NetworkAttachmentDefinition) *nadv1.NetworkAttachmentDefinition {
	t.Helper()
	b, err := json.Marshal(n)
	if err != nil {
		t.Fatal(err)
	}
	var back nadv1.NetworkAttachmentDefinition
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Kind != "NetworkAttachmentDefinition" || back.APIVersion != "k8s.cni.cncf.io/v1" {
		t.Errorf("kind %q apiVersion %q", back.Kind, back.APIVersion)
	}
	return &back
}

func TestSingleFormParsesBackToTheSameRouter(t *testing.T) {
	c, err := config.ParseRouter([]byte(operatorShape), config.Env{})
	if err != nil {
		t.Fatal(err)
	}
	n, err := Render(c, "egress", "", Single)
	if err != nil {
		t.Fatal(err)
	}
	back := roundTrip(t, n)
	if back.Name != "egress-router-cni-nad" || back.Namespace != "egress" {
		t.Errorf("metadata %s/%s", back.Namespace, back.Name)
	}
	// Multus hands spec.config to libcni; a single plugin config must load
	// as one.
	//lint:ignore SA1019 Multus v4.3 loads a single-plugin config with ConfFromBytes; test what it does
	conf, err := libcni.ConfFromBytes([]byte(back.Spec.Config))
	if err != nil {
		t.Fatalf("libcni rejects spec.config: %v", err)
	}
	if conf.Network.Type != "egress-router" {
		t.Errorf("type %q", conf.Network.Type)
	}
	again, err := config.ParseRouter([]byte(back.Spec.Config), config.Env{})
	if err != nil {
		t.Fatalf("spec.config does not parse: %v\n%s", err, back.Spec.Config)
	}
	if a, b := summary(c), summary(again); a != b {
		t.Errorf("the NAD changed the router:\n%s\n%s", a, b)
	}
}

func TestConflistFormIsTheChain(t *testing.T) {
	c, err := config.ParseRouter([]byte(operatorShape), config.Env{})
	if err != nil {
		t.Fatal(err)
	}
	n, err := Render(c, "", "egress-chain", Conflist)
	if err != nil {
		t.Fatal(err)
	}
	back := roundTrip(t, n)
	if back.Name != "egress-chain" {
		t.Errorf("name %q", back.Name)
	}
	l, err := libcni.ConfListFromBytes([]byte(back.Spec.Config))
	if err != nil {
		t.Fatalf("libcni rejects spec.config: %v", err)
	}
	want := []string{"macvlan", "egress-route", "egress-nat"}
	if len(l.Plugins) != len(want) {
		t.Fatalf("%d plugins, want %v", len(l.Plugins), want)
	}
	for i, p := range l.Plugins {
		if p.Network.Type != want[i] {
			t.Errorf("plugin %d is %q, want %q", i, p.Network.Type, want[i])
		}
	}
	if l.Name != "egress-router-cni-nad" || l.CNIVersion != "0.4.0" {
		t.Errorf("list %q %q", l.Name, l.CNIVersion)
	}
}

func TestUnknownForm(t *testing.T) {
	c, err := config.ParseRouter([]byte(operatorShape), config.Env{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Render(c, "", "", Form("yaml")); err == nil {
		t.Error("form yaml accepted")
	}
}
