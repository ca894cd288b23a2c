// Package policy is the node's egress-router policy: what the cluster
// admin allows the NetworkAttachmentDefinitions on this node to ask for.
// The plugins run as root for configs a namespace admin may write, so
// every config field is untrusted; the policy is a file the cluster
// admin installs on the node (the installer DaemonSet copies it from a
// ConfigMap), read by all three plugins and never named by a config.
//
// Without a file the defaults apply (Default): logs only in
// /var/log/egress-router, Multus's own kubeconfig only, ConfigMaps only
// in the pod's namespace, no macvlan passthru, any master but loopback,
// reserved addresses anywhere off the node, the gateway and the cluster
// networks. Every config in deploy/ and the seed documents works with
// them.
package policy

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/egress-router/egress-router/chain/jsonx"
)

// DefaultPath is where the node's policy lives.
const DefaultPath = "/etc/cni/egress-router/policy.json"

// PathEnv names another policy file. It is read from the plugins'
// environment, which the runtime (or Multus) sets and a config cannot.
const PathEnv = "EGRESS_ROUTER_POLICY"

// DefaultLogDir is the only folder the plugins write logs into unless
// the policy names another.
const DefaultLogDir = "/var/log/egress-router"

// MultusKubeconfig is the kubeconfig Multus leaves for its delegates,
// the only one allowed by default.
const MultusKubeconfig = "/etc/cni/net.d/multus.d/multus.kubeconfig"

// DefaultLockDir holds the plugins' per-pod lock files.
const DefaultLockDir = "/run/egress-router"

// DefaultChildTimeout bounds each child process (interface plugin,
// egress-ipconfig).
const DefaultChildTimeout = 30 * time.Second

// Policy is the parsed policy file. The zero value is not meaningful:
// use Default or Parse.
type Policy struct {
	// LogDir is the folder logs go into: a config's log_file is written
	// there under its base name.
	LogDir string `json:"logDir,omitempty"`
	// Kubeconfigs are the kubeconfig files a config may name (ipConfig).
	Kubeconfigs []string `json:"kubeconfigs,omitempty"`
	// ConfigMapNamespaces are namespaces besides the pod's own whose
	// ConfigMaps ipConfig may read; "*" is any.
	ConfigMapNamespaces []string `json:"configMapNamespaces,omitempty"`
	// Masters are the host links an egress interface may sit on; empty
	// allows any link but loopback.
	Masters []string `json:"masters,omitempty"`
	// Passthru allows macvlan mode passthru, which hands the master's MAC
	// to the pod.
	Passthru bool `json:"passthru,omitempty"`
	// EgressSubnets, when set, are the subnets reserved addresses must
	// lie in.
	EgressSubnets []string `json:"egressSubnets,omitempty"`
	// Namespaces limits pods by namespace (K8S_POD_NAMESPACE).
	Namespaces map[string]Limits `json:"namespaces,omitempty"`
	// OtherNamespaces is "allow" (the default) or "deny": whether pods of
	// namespaces not listed in Namespaces may have egress attachments.
	OtherNamespaces string `json:"otherNamespaces,omitempty"`
	// ChildTimeoutSeconds bounds each child process (default 30).
	ChildTimeoutSeconds int `json:"childTimeoutSeconds,omitempty"`
	// LockDir holds the per-pod lock files that keep two calls for one
	// pod from running at once.
	LockDir string `json:"lockDir,omitempty"`
	// AddressProbeMillis is how long egress-router's ADD listens for
	// another host holding a reserved IPv4 address on the master's
	// segment before it takes it (default 20; 0 takes it unasked).
	AddressProbeMillis *int `json:"addressProbeMillis,omitempty"`

	egressSubnets []*net.IPNet
	namespaces    map[string]limits
	// Source says where the policy came from, for messages.
	Source string `json:"-"`
}

// Limits are one namespace's limits; a list left out limits nothing.
type Limits struct {
	// Addresses are the subnets (or single addresses) the namespace's
	// reserved addresses must lie in.
	Addresses []string `json:"addresses,omitempty"`
	// Destinations are the subnets the namespace's destinations must lie
	// in.
	Destinations []string `json:"destinations,omitempty"`
}

type limits struct {
	addresses, destinations []*net.IPNet
}

// Default is the policy without a file.
func Default() *Policy {
	p := &Policy{Source: "the default policy (no policy file)"}
	_ = p.complete()
	return p
}

// Load reads the policy file PathEnv names, else DefaultPath; a missing
// file is the default policy. A file that exists but does not parse is
// an error: the admin meant to restrict something.
func Load() (*Policy, error) {
	path := os.Getenv(PathEnv)
	if path == "" {
		path = DefaultPath
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return Default(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("policy %s: %w", path, err)
	}
	p, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("policy %s: %w", path, err)
	}
	p.Source = "the node's policy " + path
	return p, nil
}

// Parse reads a policy. Unknown keys are refused: a misspelt restriction
// must not silently allow everything.
func Parse(b []byte) (*Policy, error) {
	p := &Policy{Source: "the node's policy"}
	if err := jsonx.Decode(b, p, jsonx.Options{}); err != nil {
		return nil, fmt.Errorf("not a policy: %w", err)
	}
	if err := p.complete(); err != nil {
		return nil, err
	}
	return p, nil
}

// complete validates the fields and fills in the defaults.
func (p *Policy) complete() error {
	if p.LogDir == "" {
		p.LogDir = DefaultLogDir
	}
	if !filepath.IsAbs(p.LogDir) {
		return fmt.Errorf("logDir %q: want an absolute path", p.LogDir)
	}
	p.LogDir = filepath.Clean(p.LogDir)
	if p.LockDir == "" {
		p.LockDir = DefaultLockDir
	}
	if !filepath.IsAbs(p.LockDir) {
		return fmt.Errorf("lockDir %q: want an absolute path", p.LockDir)
	}
	p.LockDir = filepath.Clean(p.LockDir)
	if p.Kubeconfigs == nil {
		p.Kubeconfigs = []string{MultusKubeconfig}
	}
	for i, k := range p.Kubeconfigs {
		if !filepath.IsAbs(k) {
			return fmt.Errorf("kubeconfigs[%d] %q: want an absolute path", i, k)
		}
		p.Kubeconfigs[i] = filepath.Clean(k)
	}
	for i, m := range p.Masters {
		if m == "" || len(m) > 15 || strings.ContainsAny(m, "/: \t\n") {
			return fmt.Errorf("masters[%d] %q: not an interface name", i, m)
		}
	}
	var err error
	if p.egressSubnets, err = subnets("egressSubnets", p.EgressSubnets); err != nil {
		return err
	}
	p.namespaces = map[string]limits{}
	for ns, l := range p.Namespaces {
		var pl limits
		if pl.addresses, err = subnets(fmt.Sprintf("namespaces[%q].addresses", ns), l.Addresses); err != nil {
			return err
		}
		if pl.destinations, err = subnets(fmt.Sprintf("namespaces[%q].destinations", ns), l.Destinations); err != nil {
			return err
		}
		p.namespaces[ns] = pl
	}
	switch p.OtherNamespaces {
	case "":
		p.OtherNamespaces = "allow"
	case "allow", "deny":
	default:
		return fmt.Errorf("otherNamespaces %q: want allow or deny", p.OtherNamespaces)
	}
	if p.ChildTimeoutSeconds < 0 || p.ChildTimeoutSeconds > 600 {
		return fmt.Errorf("childTimeoutSeconds %d: want 1 to 600", p.ChildTimeoutSeconds)
	}
	if p.AddressProbeMillis != nil && (*p.AddressProbeMillis < 0 || *p.AddressProbeMillis > 1000) {
		return fmt.Errorf("addressProbeMillis %d: want 0 to 1000", *p.AddressProbeMillis)
	}
	return nil
}

// DefaultAddressProbe is how long ADD listens for another holder of a
// reserved address: ARP answers on a LAN take well under a millisecond.
const DefaultAddressProbe = 20 * time.Millisecond

// AddressProbe is how long ADD listens for another holder of a reserved
// address before it takes it; 0 is not at all.
func (p *Policy) AddressProbe() time.Duration {
	if p.AddressProbeMillis != nil {
		return time.Duration(*p.AddressProbeMillis) * time.Millisecond
	}
	return DefaultAddressProbe
}

// subnets parses CIDRs, or single addresses as host prefixes.
func subnets(field string, vals []string) ([]*net.IPNet, error) {
	var out []*net.IPNet
	for i, v := range vals {
		if !strings.Contains(v, "/") {
			ip := net.ParseIP(v)
			if ip == nil {
				return nil, fmt.Errorf("%s[%d] %q: not a CIDR or an address", field, i, v)
			}
			bits := 128
			if v4 := ip.To4(); v4 != nil {
				ip, bits = v4, 32
			}
			out = append(out, &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)})
			continue
		}
		_, n, err := net.ParseCIDR(v)
		if err != nil {
			return nil, fmt.Errorf("%s[%d] %q: not a CIDR or an address", field, i, v)
		}
		out = append(out, n)
	}
	return out, nil
}

// ChildTimeout bounds each child process.
func (p *Policy) ChildTimeout() time.Duration {
	if p.ChildTimeoutSeconds > 0 {
		return time.Duration(p.ChildTimeoutSeconds) * time.Second
	}
	return DefaultChildTimeout
}

// LogFile is where a config's log_file goes: its base name inside
// LogDir, whatever folder the config named.
func (p *Policy) LogFile(logFile string) string {
	name := filepath.Base(filepath.Clean(logFile))
	if name == "." || name == ".." || name == string(filepath.Separator) || name == "" {
		name = "egress-router.log"
	}
	return filepath.Join(p.LogDir, name)
}

// AllowsKubeconfig reports whether a config may use the kubeconfig.
func (p *Policy) AllowsKubeconfig(path string) bool {
	return filepath.IsAbs(path) && slices.Contains(p.Kubeconfigs, filepath.Clean(path))
}

// AllowsConfigMapNamespace reports whether a pod in podNS may read
// ConfigMaps in ns.
func (p *Policy) AllowsConfigMapNamespace(podNS, ns string) bool {
	return ns == podNS || slices.Contains(p.ConfigMapNamespaces, ns) || slices.Contains(p.ConfigMapNamespaces, "*")
}

// AllowsMaster reports whether an egress interface may sit on the host
// link master.
func (p *Policy) AllowsMaster(master string) bool {
	return master != "lo" && (len(p.Masters) == 0 || slices.Contains(p.Masters, master))
}

// RestrictsMasters says whether the policy lists the allowed masters.
func (p *Policy) RestrictsMasters() bool { return len(p.Masters) > 0 }

// AllowsMode reports whether an interface mode is allowed.
func (p *Policy) AllowsMode(typ, mode string) bool {
	return !(typ == "macvlan" && mode == "passthru") || p.Passthru
}

// CheckNamespace refuses pods of namespaces the policy does not admit.
func (p *Policy) CheckNamespace(ns string) error {
	if _, listed := p.namespaces[ns]; listed || p.OtherNamespaces == "allow" {
		return nil
	}
	return fmt.Errorf("pods of namespace %q may not have egress attachments on this node (%s)", ns, p.Source)
}

// CheckAddress checks a reserved address against the egress subnets and
// the namespace's limits.
func (p *Policy) CheckAddress(ns string, a *net.IPNet) error {
	if len(p.egressSubnets) > 0 && !within(a, p.egressSubnets) {
		return fmt.Errorf("%s is outside the egress subnets %s allows", a, p.Source)
	}
	if l, ok := p.namespaces[ns]; ok && len(l.addresses) > 0 && !contains(l.addresses, a.IP) {
		return fmt.Errorf("%s is outside the addresses %s allows namespace %q", a, p.Source, ns)
	}
	return nil
}

// CheckDestination checks a destination against the namespace's limits.
func (p *Policy) CheckDestination(ns string, ip net.IP) error {
	if l, ok := p.namespaces[ns]; ok && len(l.destinations) > 0 && !contains(l.destinations, ip) {
		return fmt.Errorf("%s is outside the destinations %s allows namespace %q", ip, p.Source, ns)
	}
	return nil
}

// HasEgressSubnets says whether the policy names egress subnets.
func (p *Policy) HasEgressSubnets() bool { return len(p.egressSubnets) > 0 }

// HostPrefixes returns the prefix lengths a bare allow-list address may
// take: a host address, or the prefix of an egress subnet holding it
// (from the policy, else the subnets given, e.g. the master's).
func (p *Policy) HostPrefixes(ip net.IP, fallback []*net.IPNet) []int {
	bits := 128
	if ip.To4() != nil {
		bits = 32
	}
	out := []int{bits}
	nets := p.egressSubnets
	if len(nets) == 0 {
		nets = fallback
	}
	for _, n := range nets {
		if n.Contains(ip) {
			ones, _ := n.Mask.Size()
			out = append(out, ones)
		}
	}
	sort.Ints(out)
	return slices.Compact(out)
}

// within reports whether a (address and prefix) lies in one of nets.
func within(a *net.IPNet, nets []*net.IPNet) bool {
	ones, _ := a.Mask.Size()
	for _, n := range nets {
		nOnes, _ := n.Mask.Size()
		if n.Contains(a.IP) && ones >= nOnes {
			return true
		}
	}
	return false
}

func contains(nets []*net.IPNet, ip net.IP) bool {
	for _, n := range nets {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}
