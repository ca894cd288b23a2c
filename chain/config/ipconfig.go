package config

import (
	"encoding/json"
	"fmt"
	"net"
	"sort"
	"strings"

	"github.com/egress-router/egress-router/chain/cnierr"
	"github.com/egress-router/egress-router/chain/dest"
)

// DefaultKubeconfig is where Multus leaves the kubeconfig its delegates
// may use.
const DefaultKubeconfig = "/etc/cni/net.d/multus.d/multus.kubeconfig"

// Where returns the ConfigMap's namespace/name; the namespace defaults to
// the pod's (K8S_POD_NAMESPACE), and another one must be one the node's
// policy allows: the plugin reads with Multus's rights, not the pod's.
func (ic *IPConfig) Where(env Env) (namespace, name string, err error) {
	namespace, name = strings.TrimSpace(ic.Namespace), strings.TrimSpace(ic.Name)
	if name == "" {
		return "", "", cnierr.Config("ipConfig.name: missing; name the ConfigMap holding the ip or podIP entry")
	}
	if namespace == "" {
		namespace = env.PodNamespace
	}
	if namespace == "" {
		return "", "", cnierr.Env("ipConfig.namespace: not set and CNI_ARGS has no K8S_POD_NAMESPACE to default to")
	}
	if pol := env.policy(); !pol.AllowsConfigMapNamespace(env.PodNamespace, namespace) {
		return "", "", cnierr.Config("ipConfig.namespace %q: not the pod's namespace %q, and %s allows no other", namespace, env.PodNamespace, pol.Source)
	}
	return namespace, name, nil
}

// kubeconfig is the kubeconfig to read the ConfigMap with, which must be
// one the node's policy lists: a kubeconfig can run commands (exec
// credential plugins) and send files (tokenFile) as root.
func (n *RouterConf) kubeconfig(env Env) (string, error) {
	path, field := n.kubeconfigPath()
	if pol := env.policy(); !pol.AllowsKubeconfig(path) {
		return "", cnierr.Config("%s %q: not a kubeconfig %s allows", field, path, pol.Source)
	}
	return path, nil
}

// kubeconfigPath is the kubeconfig a config names, and the field naming it.
func (n *RouterConf) kubeconfigPath() (string, string) {
	if n.IPConfig != nil && strings.TrimSpace(n.IPConfig.Kubeconfig) != "" {
		return n.IPConfig.Kubeconfig, "ipConfig.kubeconfig"
	}
	if strings.TrimSpace(n.Kubeconfig) != "" {
		return n.Kubeconfig, "kubeconfig"
	}
	return DefaultKubeconfig, "kubeconfig"
}

// fromConfigMap picks the pod's `ip` entry from the ConfigMap's data (an
// `ip` or a `podIP` entry, JSON as in the CNI config) and applies the
// overrides:
//   - overrides.addresses is the allow list of addresses the ConfigMap may
//     assign;
//   - overrides.gateway is the gateway, and the ConfigMap may not name
//     another;
//   - overrides.destinations (and fallbackIP) are the default, and the
//     ConfigMap's own are intersected with them.
func (ic *IPConfig) fromConfigMap(env Env, where string) (*IP, error) {
	data := env.IPConfigData
	ipRaw, hasIP := data["ip"]
	podRaw, hasPod := data["podIP"]
	var ip *IP
	switch {
	case hasIP && hasPod:
		return nil, cnierr.Config("%s: holds both ip and podIP; give one", where)
	case hasIP:
		ip = &IP{}
		if err := json.Unmarshal([]byte(ipRaw), ip); err != nil {
			return nil, cnierr.Config("%s: ip: %v", where, err)
		}
	case hasPod:
		var pods map[string]*IP
		if err := json.Unmarshal([]byte(podRaw), &pods); err != nil {
			return nil, cnierr.Config("%s: podIP: %v", where, err)
		}
		names := make([]string, 0, len(pods))
		for k := range pods {
			names = append(names, k)
		}
		sort.Strings(names)
		if env.PodName == "" {
			return nil, cnierr.Env("%s: podIP: CNI_ARGS has no K8S_POD_NAME to choose an entry by (entries: %s)", where, strings.Join(names, ", "))
		}
		if ip = pods[env.PodName]; ip == nil {
			return nil, cnierr.Config("%s: podIP: no entry for pod %q (entries: %s)", where, env.PodName, strings.Join(names, ", "))
		}
	default:
		keys := make([]string, 0, len(data))
		for k := range data {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return nil, cnierr.Config("%s: has neither an ip nor a podIP entry (keys: %s)", where, strings.Join(keys, ", "))
	}
	if ic.Overrides == nil {
		return ip, nil
	}
	return ic.Overrides.apply(ip, where)
}

// apply enforces the overrides on the ConfigMap's entry.
func (o *IP) apply(cm *IP, where string) (*IP, error) {
	out := *cm
	if len(o.Addresses) > 0 {
		if len(cm.Addresses) == 0 {
			return nil, cnierr.Config("%s: assigns no addresses (allowed: %v)", where, o.Addresses)
		}
		for _, a := range cm.Addresses {
			ok, bare := allowed(a, o.Addresses)
			if !ok {
				return nil, cnierr.Config("%s: address %q is not in ipConfig.overrides.addresses %v", where, a, o.Addresses)
			}
			if bare {
				out.bare = append(out.bare, strings.TrimSpace(a))
			}
		}
	}
	if len(o.Gateway) > 0 {
		for _, g := range cm.Gateway {
			if !sameIPIn(g, o.Gateway) {
				return nil, cnierr.Config("%s: gateway %q differs from ipConfig.overrides.gateway %v, which it may not change", where, g, []string(o.Gateway))
			}
		}
		out.Gateway = o.Gateway
	}
	if len(o.Destinations) > 0 || strings.TrimSpace(o.FallbackIP) != "" {
		base, err := dest.Parse("ipConfig.overrides.destinations", o.Destinations, "ipConfig.overrides.fallbackIP", o.FallbackIP)
		if err != nil {
			return nil, err
		}
		own, err := dest.Parse(where+": destinations", cm.Destinations, where+": fallbackIP", cm.FallbackIP)
		if err != nil {
			return nil, err
		}
		if own.Empty() {
			out.Destinations, out.FallbackIP = base.Lines(), ""
			return &out, nil
		}
		allow := map[string]bool{}
		for _, l := range base.Lines() {
			allow[l] = true
		}
		var keep, dropped []string
		for _, l := range own.Lines() {
			if allow[l] {
				keep = append(keep, l)
			} else {
				dropped = append(dropped, l)
			}
		}
		if len(keep) == 0 {
			return nil, cnierr.Config("%s: none of its destinations %q are in ipConfig.overrides.destinations %q", where, own.Lines(), base.Lines())
		}
		out.Destinations, out.FallbackIP = keep, ""
		out.Dropped = dropped
	}
	return &out, nil
}

// allowed reports whether address a is on the allow list: the same IP,
// and the same prefix when the list entry gives one. bare says it was
// admitted by an entry without a prefix while it has one: such an entry
// admits the address only as a host address or with its egress subnet's
// prefix, which the caller checks (see barePrefixes).
func allowed(a string, list []string) (ok, bare bool) {
	ip, n, err := splitAddr(a)
	if err != nil {
		return false, false
	}
	for _, l := range list {
		lip, ln, err := splitAddr(l)
		if err != nil || !lip.Equal(ip) {
			continue
		}
		if ln != nil && n != nil && ln.String() == n.String() {
			return true, false
		}
		if ln == nil {
			ok, bare = true, n != nil
		}
	}
	return ok, bare
}

func splitAddr(s string) (net.IP, *net.IPNet, error) {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "/") {
		ip := net.ParseIP(s)
		if ip == nil {
			return nil, nil, fmt.Errorf("not an IP")
		}
		return ip, nil, nil
	}
	ip, n, err := net.ParseCIDR(s)
	return ip, n, err
}

func sameIPIn(s string, list []string) bool {
	ip := net.ParseIP(strings.TrimSpace(s))
	for _, l := range list {
		if ip != nil && ip.Equal(net.ParseIP(strings.TrimSpace(l))) {
			return true
		}
	}
	return false
}
