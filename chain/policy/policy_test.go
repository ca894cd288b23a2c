package policy

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func cidr(s string) *net.IPNet {
	ip, n, err := net.ParseCIDR(s)
	if err != nil {
		panic(err)
	}
	if v4 := ip.To4(); v4 != nil {
		ip = v4
	}
	return &net.IPNet{IP: ip, Mask: n.Mask}
}

func TestDefault(t *testing.T) {
	p := Default()
	if p.LogDir != DefaultLogDir || !p.AllowsKubeconfig(MultusKubeconfig) || p.AllowsKubeconfig("/root/.kube/config") {
		t.Errorf("log dir %q, kubeconfigs %v", p.LogDir, p.Kubeconfigs)
	}
	if !p.AllowsMaster("ens4") || !p.AllowsMaster("ext0") || p.AllowsMaster("lo") {
		t.Error("default masters: any but loopback")
	}
	if p.AllowsMode("macvlan", "passthru") || !p.AllowsMode("macvlan", "bridge") || !p.AllowsMode("ipvlan", "l3") {
		t.Error("default modes: all but macvlan passthru")
	}
	if !p.AllowsConfigMapNamespace("egress", "egress") || p.AllowsConfigMapNamespace("egress", "kube-system") {
		t.Error("default ConfigMaps: the pod's namespace only")
	}
	if err := p.CheckAddress("egress", cidr("192.168.12.99/24")); err != nil || p.CheckNamespace("any") != nil {
		t.Errorf("default addresses and namespaces: %v", err)
	}
	if p.ChildTimeout() != DefaultChildTimeout {
		t.Errorf("timeout %s", p.ChildTimeout())
	}
}

func TestLogFile(t *testing.T) {
	p := Default()
	for in, want := range map[string]string{
		"/tmp/egress-router-log":       "/var/log/egress-router/egress-router-log",
		"/root/.bashrc":                "/var/log/egress-router/.bashrc",
		"../../etc/passwd":             "/var/log/egress-router/passwd",
		"/var/log/egress-router/a.log": "/var/log/egress-router/a.log",
		"x/..":                         "/var/log/egress-router/egress-router.log",
		"/":                            "/var/log/egress-router/egress-router.log",
		"..":                           "/var/log/egress-router/egress-router.log",
	} {
		if got := p.LogFile(in); got != want {
			t.Errorf("LogFile(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParse(t *testing.T) {
	p, err := Parse([]byte(`{"logDir": "/var/log/er/", "kubeconfigs": ["/etc/kube/a.conf"], "configMapNamespaces": ["shared"],
	  "masters": ["ens4"], "passthru": true, "egressSubnets": ["192.168.12.0/24", "fd00:12::/64"],
	  "namespaces": {"team-a": {"addresses": ["192.168.12.96/28", "192.168.12.50"], "destinations": ["203.0.113.0/24"]}},
	  "otherNamespaces": "deny", "childTimeoutSeconds": 5}`))
	if err != nil {
		t.Fatal(err)
	}
	if p.LogDir != "/var/log/er" || !p.AllowsKubeconfig("/etc/kube/../kube/a.conf") || p.AllowsKubeconfig(MultusKubeconfig) {
		t.Errorf("logDir %q kubeconfigs %v", p.LogDir, p.Kubeconfigs)
	}
	if !p.AllowsConfigMapNamespace("team-a", "shared") || p.AllowsConfigMapNamespace("team-a", "other") {
		t.Error("configMapNamespaces")
	}
	if !p.AllowsMaster("ens4") || p.AllowsMaster("ens5") || !p.AllowsMode("macvlan", "passthru") {
		t.Error("masters, passthru")
	}
	if p.ChildTimeout() != 5*time.Second {
		t.Errorf("timeout %s", p.ChildTimeout())
	}
	for _, c := range []struct {
		ns, addr, frag string
	}{
		{"team-a", "192.168.12.99/24", ""},
		{"team-a", "192.168.12.50/24", ""},
		{"team-a", "192.168.12.120/24", `outside the addresses the node's policy allows namespace "team-a"`},
		{"team-a", "192.168.13.99/24", "outside the egress subnets"},
		{"team-a", "192.168.12.99/16", "outside the egress subnets"},
		{"team-a", "fd00:12::99/64", `namespace "team-a"`},
	} {
		err := p.CheckAddress(c.ns, cidr(c.addr))
		if (c.frag == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.frag)) {
			t.Errorf("CheckAddress(%s, %s) = %v, want %q", c.ns, c.addr, err, c.frag)
		}
	}
	if err := p.CheckDestination("team-a", net.ParseIP("203.0.113.5")); err != nil {
		t.Error(err)
	}
	if err := p.CheckDestination("team-a", net.ParseIP("198.51.100.5")); err == nil || !strings.Contains(err.Error(), "198.51.100.5 is outside the destinations") {
		t.Errorf("destination: %v", err)
	}
	if err := p.CheckNamespace("team-b"); err == nil || !strings.Contains(err.Error(), `namespace "team-b"`) {
		t.Errorf("unlisted namespace: %v", err)
	}
	if err := p.CheckNamespace("team-a"); err != nil {
		t.Error(err)
	}
}

func TestParseRefuses(t *testing.T) {
	for conf, frag := range map[string]string{
		`{"logdir": "/x"}`:                               `logdir: unknown key; keys are case-sensitive: write "logDir"`,
		`{"mastrs": ["x"]}`:                              "mastrs: unknown key",
		`{"passthru": true, "passthru": false}`:          "passthru: the key appears twice",
		`{"logDir": "relative"}`:                         "want an absolute path",
		`{"kubeconfigs": ["k.conf"]}`:                    "want an absolute path",
		`{"masters": ["a/b"]}`:                           "not an interface name",
		`{"egressSubnets": ["10.0.0.0/33"]}`:             "not a CIDR",
		`{"namespaces": {"a": {"destinations": ["x"]}}}`: `namespaces["a"].destinations[0] "x"`,
		`{"otherNamespaces": "maybe"}`:                   "want allow or deny",
		`{"childTimeoutSeconds": 9999}`:                  "want 1 to 600",
		`{"addressProbeMillis": -1}`:                     "addressProbeMillis -1: want 0 to 1000",
		`{"addressProbeMillis": 5000}`:                   "addressProbeMillis 5000: want 0 to 1000",
		`{} {}`:                                          "not a policy",
		`[]`:                                             "not a policy",
	} {
		if _, err := Parse([]byte(conf)); err == nil || !strings.Contains(err.Error(), frag) {
			t.Errorf("Parse(%s) = %v, want %q", conf, err, frag)
		}
	}
}

func TestHostPrefixes(t *testing.T) {
	ip := net.ParseIP("192.168.12.98").To4()
	if got := Default().HostPrefixes(ip, []*net.IPNet{cidr("192.168.12.0/24"), cidr("10.0.0.0/8")}); len(got) != 2 || got[0] != 24 || got[1] != 32 {
		t.Errorf("from the master's subnets: %v", got)
	}
	p, _ := Parse([]byte(`{"egressSubnets": ["192.168.12.96/27"]}`))
	if got := p.HostPrefixes(ip, []*net.IPNet{cidr("192.168.12.0/24")}); len(got) != 2 || got[0] != 27 {
		t.Errorf("from the policy's subnets: %v", got)
	}
	if got := Default().HostPrefixes(ip, nil); len(got) != 1 || got[0] != 32 {
		t.Errorf("no subnet: %v", got)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(PathEnv, filepath.Join(dir, "none.json"))
	if p, err := Load(); err != nil || p.Source != Default().Source {
		t.Errorf("missing file: %v %v", p, err)
	}
	path := filepath.Join(dir, "policy.json")
	t.Setenv(PathEnv, path)
	os.WriteFile(path, []byte(`{"masters": ["ens4"]}`), 0o600)
	if p, err := Load(); err != nil || !strings.Contains(p.Source, path) || p.AllowsMaster("eth0") {
		t.Errorf("file: %+v %v", p, err)
	}
	os.WriteFile(path, []byte(`{"masters": "ens4"}`), 0o600)
	if _, err := Load(); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("bad file: %v", err)
	}
}

func TestAddressProbe(t *testing.T) {
	for in, want := range map[string]time.Duration{
		`{}`:                         DefaultAddressProbe,
		`{"addressProbeMillis": 0}`:  0,
		`{"addressProbeMillis": 50}`: 50 * time.Millisecond,
	} {
		p, err := Parse([]byte(in))
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if got := p.AddressProbe(); got != want {
			t.Errorf("%s: AddressProbe() = %v, want %v", in, got, want)
		}
	}
}
