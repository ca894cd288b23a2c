package policy

import (
	"net"
	"testing"
	"time"
)

// FuzzParse: any file is a policy or an error; an accepted policy answers
// every question without panicking and keeps its logs in an absolute
// folder.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{}`,
		`{"logDir": "/var/log/er", "kubeconfigs": ["/etc/k.conf"], "configMapNamespaces": ["*"], "masters": ["ens4"], "passthru": true,
		  "egressSubnets": ["192.168.12.0/24", "fd00:12::/64", "10.0.0.1"], "namespaces": {"a": {"addresses": ["192.168.12.96/28"], "destinations": ["0.0.0.0/0"]}},
		  "otherNamespaces": "deny", "childTimeoutSeconds": 5, "addressProbeMillis": 0}`,
		`{"addressProbeMillis": 1000}`, `{"addressProbeMillis": -5}`, `{"addressProbeMillis": null}`,
		`{"logdir": "/x"}`, `{"masters": "ens4"}`, `{"a": 1, "a": 2}`, `[]`, `null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Parse(b)
		if err != nil {
			return
		}
		if p.LogDir == "" || p.LogDir[0] != '/' {
			t.Fatalf("log folder %q", p.LogDir)
		}
		if lf := p.LogFile("../../etc/passwd"); lf[:len(p.LogDir)] != p.LogDir {
			t.Fatalf("log file %q outside %q", lf, p.LogDir)
		}
		a := &net.IPNet{IP: net.ParseIP("192.168.12.99").To4(), Mask: net.CIDRMask(24, 32)}
		_ = p.CheckAddress("a", a)
		_ = p.CheckDestination("a", a.IP)
		_ = p.CheckNamespace("b")
		_ = p.HostPrefixes(a.IP, nil)
		_ = p.AllowsMaster("lo")
		if d := p.AddressProbe(); d < 0 || d > time.Second {
			t.Fatalf("address probe %s", d)
		}
		if p.ChildTimeout() <= 0 {
			t.Fatalf("timeout %s", p.ChildTimeout())
		}
	})
}
