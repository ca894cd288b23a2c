package config

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/containernetworking/cni/pkg/types"

	"github.com/egress-router/egress-router/chain/plan"
)

// cniError fails t unless err is a CNI error with one of the codes a bad
// config may get.
func cniError(t *testing.T, err error) {
	t.Helper()
	var te *types.Error
	if !errors.As(err, &te) {
		t.Fatalf("error %v (%T) is not a CNI error", err, err)
	}
	switch te.Code {
	case types.ErrInvalidEnvironmentVariables, types.ErrDecodingFailure, types.ErrInvalidNetworkConfig:
	default:
		t.Fatalf("code %d for a bad config: %v", te.Code, te.Msg)
	}
}

// FuzzRouter: any egress-router config is refused with a CNI error or
// accepted; an accepted one renders a dry run and a conflist, and its
// canonical single form parses back to the same router.
func FuzzRouter(f *testing.F) {
	for _, c := range configCases {
		f.Add([]byte(c.conf), c.env.PodName)
	}
	f.Add([]byte(operatorNAD), "")
	f.Fuzz(func(t *testing.T, conf []byte, pod string) {
		env := Env{IfName: "net1", PodName: pod, PodNamespace: "egress"}
		c, err := ParseRouter(conf, env)
		if err != nil {
			cniError(t, err)
			return
		}
		if err := c.DryRun(new(discard)); err != nil {
			t.Fatalf("dry run: %v", err)
		}
		if _, err := json.Marshal(c.Conflist()); err != nil {
			t.Fatalf("conflist: %v", err)
		}
		b, err := json.Marshal(c.Single())
		if err != nil {
			t.Fatal(err)
		}
		again, err := ParseRouter(b, Env{IfName: "net1", PodNamespace: "egress"})
		if err != nil {
			t.Fatalf("canonical form %s does not parse: %v", b, err)
		}
		if a, b := summary(c), summary(again); a != b {
			t.Fatalf("round trip changed the router:\n%s\n%s", a, b)
		}
	})
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// FuzzConfigMap: any ConfigMap data under ipConfig overrides is a CNI
// error or a router within the overrides.
func FuzzConfigMap(f *testing.F) {
	const conf = `{"cniVersion":"1.0.0","name":"er","type":"egress-router","interfaceArgs":{"master":"ens4"},
	  "ipConfig":{"name":"cm","overrides":{"addresses":["192.168.12.99/24","192.168.12.98"],"gateway":"192.168.12.1",
	  "destinations":["80 tcp 203.0.113.5 8080","192.168.12.91"]}}}`
	for _, s := range []struct{ ip, podIP string }{
		{`{"addresses":["192.168.12.99/24"],"destinations":["80 tcp 203.0.113.5 8080","443 tcp 203.0.113.9"]}`, ""},
		{"", `{"router-0":{"addresses":["192.168.12.98/24"]}}`},
		{`addresses: [192.168.12.99/24]`, ""},
		{`{"addresses":["192.168.12.98/1"]}`, ""},
		{`{"addresses":["192.168.12.99/24"],"gateway":"192.168.12.254"}`, `{}`},
	} {
		f.Add(s.ip, s.podIP)
	}
	f.Fuzz(func(t *testing.T, ip, podIP string) {
		data := map[string]string{}
		if ip != "" {
			data["ip"] = ip
		}
		if podIP != "" {
			data["podIP"] = podIP
		}
		c, err := ParseRouter([]byte(conf), Env{IfName: "net1", PodName: "router-0", PodNamespace: "egress", IPConfigData: data})
		if err != nil {
			cniError(t, err)
			return
		}
		for _, a := range c.Addrs {
			if a.IP.String() != "192.168.12.99" && a.IP.String() != "192.168.12.98" {
				t.Fatalf("address %s is not in the overrides", a)
			}
		}
		for _, g := range c.Gateways {
			if g.String() != "192.168.12.1" {
				t.Fatalf("gateway %s is not the forced one", g)
			}
		}
	})
}

// FuzzChained: any egress-route or egress-nat config, with any
// prevResult, is a CNI error or an attachment.
func FuzzChained(f *testing.F) {
	prev := `"prevResult": {"cniVersion": "1.0.0", "interfaces": [{"name": "net1", "sandbox": "/var/run/netns/pod"}],
	  "ips": [{"interface": 0, "address": "192.168.12.99/24", "gateway": "192.168.12.1"}]}`
	for _, s := range []string{
		`{"cniVersion": "1.0.0", "name": "e", "type": "egress-nat", "destinations": ["80 tcp 203.0.113.5 8080", "192.168.12.91"], ` + prev + `}`,
		`{"cniVersion": "1.0.0", "name": "e", "type": "egress-nat", "destinations": "192.168.12.91", "source": "192.168.12.99", "backend": "nftables", ` + prev + `}`,
		`{"cniVersion": "1.0.0", "name": "e", "type": "egress-route", "clusterCIDRs": ["10.128.0.0/14"], "masterIPs": ["192.168.12.2"], ` + prev + `}`,
		`{"cniVersion": "0.3.1", "name": "e", "type": "egress-route", "prevResult": {"ips": [{"version": "4", "interface": 0, "address": "x"}]}}`,
	} {
		f.Add([]byte(s), true)
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, conf []byte, nat bool) {
		p := EgressRoute
		if nat {
			p = EgressNAT
		}
		env := Env{Netns: "/var/run/netns/pod", IfName: "net1", PodNamespace: "egress"}
		a, err := Load(p, conf, env)
		if err != nil {
			cniError(t, err)
			return
		}
		if nat {
			pl, err := a.Plan()
			if err != nil || pl.NAT == nil || len(pl.NAT.Sets) == 0 {
				t.Fatalf("an accepted egress-nat config plans %+v, %v", pl, err)
			}
		}
		if td, _ := Teardown(p, conf, env); td.Routes == (p == EgressNAT) || td.NAT == (p == EgressRoute) {
			t.Fatalf("DEL would not undo the step: %+v", td)
		}
	})
}

// FuzzPrevResult: any prevResult is a CNI error or a result FindEgress
// can read.
func FuzzPrevResult(f *testing.F) {
	for _, s := range []string{
		`{"cniVersion": "1.0.0", "interfaces": [{"name": "net1", "sandbox": "/p"}], "ips": [{"interface": 0, "address": "192.168.12.99/24"}]}`,
		`{"cniVersion": "0.3.1", "ips": [{"version": "4", "interface": 9, "address": "10.0.0.1/8"}]}`,
		`{"cniVersion": "0.4.0", "interfaces": [{"name": "net1"}], "ips": [{"version": "6", "address": "fd00::1/64", "gateway": "fd00::2"}], "dns": {}}`,
		`{"cniVersion": "9.9.9"}`,
	} {
		f.Add([]byte(s), "1.0.0")
		f.Add([]byte(s), "0.4.0")
	}
	f.Fuzz(func(t *testing.T, raw []byte, version string) {
		var n types.NetConf
		conf, _ := json.Marshal(map[string]any{"cniVersion": version, "name": "e", "type": "egress-nat", "prevResult": json.RawMessage(raw)})
		if json.Unmarshal(conf, &n) != nil {
			return
		}
		res, err := parsePrev(&n)
		if err != nil {
			cniError(t, err)
			return
		}
		if res != nil {
			_, _ = plan.FindEgress(res, "/p", "net1")
		}
	})
}
