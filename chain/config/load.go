package config

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/cni/pkg/version"

	"github.com/egress-router/egress-router/chain/cnierr"
	"github.com/egress-router/egress-router/chain/dest"
	"github.com/egress-router/egress-router/chain/logging"
	"github.com/egress-router/egress-router/chain/nat"
	"github.com/egress-router/egress-router/chain/plan"
)

// Attachment is one of our plugins' configs, validated, for one
// attachment: what ADD and CHECK start from.
type Attachment struct {
	Plugin     Plugin
	CNIVersion string
	Log        Logging
	env        Env
	netConf    types.NetConf
	prev       *current.Result
	router     *Router
	route      *routeAttachment
	nat        *natAttachment
}

// Load parses and validates a plugin's config for the attachment env
// names. For egress-router it reads the ipConfig ConfigMap when the
// config names one (and env does not carry its data); the chained plugins
// find their interface in prevResult. Nothing on the node is looked at
// yet: see Plan.
func Load(p Plugin, stdin []byte, env Env) (*Attachment, error) {
	a := &Attachment{Plugin: p, env: env}
	var err error
	switch p {
	case EgressRouter:
		err = a.loadRouter(stdin)
	case EgressRoute:
		err = a.loadRoute(stdin)
	case EgressNAT:
		err = a.loadNAT(stdin)
	default:
		err = cnierr.Config("type %q is not one of our plugins", p)
	}
	if err != nil {
		return nil, err
	}
	return a, nil
}

func (a *Attachment) loadRouter(stdin []byte) error {
	n := &RouterConf{}
	if err := decode(stdin, n); err != nil {
		return err
	}
	env := a.env
	if n.IPConfig != nil && env.IPConfigData == nil {
		data, err := readIPConfig(n, env)
		if err != nil {
			return err
		}
		env.IPConfigData = data
	}
	r, err := n.validate(env)
	if err != nil {
		return err
	}
	a.router, a.netConf, a.CNIVersion, a.Log = r, n.NetConf, n.CNIVersion, n.Logging
	return nil
}

func (a *Attachment) loadRoute(stdin []byte) error {
	n, s, err := parseRoute(stdin)
	if err != nil {
		return err
	}
	eg, err := a.chained(&n.NetConf)
	if err != nil {
		return err
	}
	if err := guardAddrs(a.env.policy(), a.env.PodNamespace, egressField(eg), eg.Addrs, s.viaCluster); err != nil {
		return err
	}
	a.route, a.CNIVersion, a.Log = &routeAttachment{settings: s, egress: eg}, n.CNIVersion, n.Logging
	return nil
}

func (a *Attachment) loadNAT(stdin []byte) error {
	n, s, err := parseNAT(stdin)
	if err != nil {
		return err
	}
	eg, err := a.chained(&n.NetConf)
	if err != nil {
		return err
	}
	if err := guardAddrs(a.env.policy(), a.env.PodNamespace, egressField(eg), eg.Addrs, nil); err != nil {
		return err
	}
	if err := guardDests(a.env.policy(), a.env.PodNamespace, "destinations", s.destinations); err != nil {
		return err
	}
	spec, err := natSpec(s.cluster, eg.IfName, s.destinations, s.source, eg.Addrs)
	if err != nil {
		return err
	}
	sets, err := nat.Build(spec)
	if err != nil {
		return err
	}
	a.nat, a.CNIVersion, a.Log = &natAttachment{backend: s.backend, sets: sets}, n.CNIVersion, n.Logging
	return nil
}

// egressField names prevResult's addresses of the interface in messages.
func egressField(eg *plan.Egress) string {
	return fmt.Sprintf("prevResult: addresses of %q", eg.IfName)
}

// chained reads a chained plugin's prevResult and finds the attachment's
// interface in it: what egress-route and egress-nat work on.
func (a *Attachment) chained(n *types.NetConf) (*plan.Egress, error) {
	var err error
	if a.prev, err = parsePrev(n); err != nil {
		return nil, err
	}
	return plan.FindEgress(a.prev, a.env.Netns, a.env.IfName)
}

// Plan resolves the config against the node and the pod and returns the
// plan for ADD and CHECK.
func (a *Attachment) Plan() (plan.Plan, error) {
	var p plan.Plan
	switch {
	case a.router != nil:
		// egress-router's prevResult is only CHECK's business.
		prev, err := parsePrev(&a.netConf)
		if err != nil {
			return plan.Plan{}, err
		}
		if err := a.router.Resolve(); err != nil {
			return plan.Plan{}, err
		}
		facts, err := guardPod(a.env, a.router.ClusterInterface(), a.router.Field+".addresses", a.router.Addrs)
		if err != nil {
			return plan.Plan{}, err
		}
		p, a.prev = a.router.Plan(a.env.Pod()), prev
		p.Routes.ViaCluster, p.Notes = withoutConnected(p.Routes.ViaCluster, facts.clusterSubnets)
	case a.route != nil:
		var err error
		if p, err = a.route.plan(a.env); err != nil {
			return plan.Plan{}, err
		}
	case a.nat != nil:
		p = a.nat.plan()
	}
	p.Pod, p.CNIVersion, p.Prev = a.env.Pod(), a.CNIVersion, a.prev
	return p, nil
}

// Teardown reads a config for DEL, which must work whatever the config
// says now: it may have been edited since ADD, or may not parse at all.
// Nothing here fails: what cannot be read is guessed (macvlan, whose DEL
// deletes the link by name, with static IPAM), and everything else DEL
// needs is found in the pod by its markers.
func Teardown(p Plugin, stdin []byte, env Env) (plan.Teardown, Logging) {
	t := plan.Teardown{Pod: env.Pod(), Routes: p != EgressNAT, NAT: p != EgressRoute}
	logs := lenientLogging(stdin)
	if p != EgressRouter {
		return t, logs
	}
	n := &RouterConf{}
	var d plan.Delegate
	if err := decode(stdin, n); err == nil {
		d = n.lenientDelegate(env)
	} else {
		d = guessDelegate(stdin)
	}
	t.Interface, t.Leftovers = &d, true
	return t, logs
}

// lenientLogging reads log_file and log_level from a config that may not
// parse as a whole.
func lenientLogging(stdin []byte) Logging {
	var raw map[string]json.RawMessage
	var l Logging
	if json.Unmarshal(stdin, &raw) != nil {
		return l
	}
	_ = json.Unmarshal(raw["log_file"], &l.LogFile)
	_ = json.Unmarshal(raw["log_level"], &l.LogLevel)
	return l
}

// guessDelegate is the interface plugin's config for a DEL whose config
// does not parse: what can be read of it, else macvlan and static.
func guessDelegate(stdin []byte) plan.Delegate {
	var raw map[string]json.RawMessage
	_ = json.Unmarshal(stdin, &raw)
	var name, version, typ string
	_ = json.Unmarshal(raw["name"], &name)
	_ = json.Unmarshal(raw["cniVersion"], &version)
	_ = json.Unmarshal(raw["interfaceType"], &typ)
	if strings.ToLower(strings.TrimSpace(typ)) != "ipvlan" {
		typ = "macvlan"
	}
	return deletable(plan.Delegate{CNIVersion: version, Name: name, Type: strings.ToLower(strings.TrimSpace(typ)), IPAM: plan.IPAM{Type: plan.StaticIPAM}})
}

// supportedVersion reports whether the interface plugins take a version.
func supportedVersion(v string) bool {
	switch v {
	case "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0":
		return true
	}
	return false
}

// Status reads a config for STATUS: whether ADD could work now.
func Status(p Plugin, stdin []byte, env Env) (plan.Status, error) {
	s := plan.Status{Name: string(p)}
	switch p {
	case EgressRouter:
		n := &RouterConf{}
		if err := decode(stdin, n); err != nil {
			return s, err
		}
		d := n.lenientDelegate(env)
		s.Interface = &d
		// NAT may be needed: destinations here, or per pod, or in a
		// ConfigMap.
		s.NAT = n.IP != nil && len(n.IP.Destinations)+len(n.IP.FallbackIP) > 0 || n.PodIP != nil || n.IPConfig != nil
		s.Backend, _ = parseBackend("backend", n.Backend)
		if s.Backend == "" {
			s.Backend = nat.Auto
		}
	case EgressNAT:
		_, ns, err := parseNAT(stdin)
		if err != nil {
			return s, err
		}
		s.NAT, s.Backend = true, ns.backend
	}
	return s, nil
}

// GC reads a config for GC: the interface plugin to forward it to and
// the runtime's list of valid attachments. The chained plugins keep
// nothing outside the pods, so they have nothing to forward.
func GC(p Plugin, stdin []byte, env Env) (*plan.Delegate, json.RawMessage, error) {
	if p != EgressRouter {
		return nil, nil, nil
	}
	n := &RouterConf{}
	if err := decode(stdin, n); err != nil {
		return nil, nil, err
	}
	var raw struct {
		Valid json.RawMessage `json:"cni.dev/valid-attachments"`
	}
	_ = json.Unmarshal(stdin, &raw)
	d := n.lenientDelegate(env)
	return &d, raw.Valid, nil
}

// lenientDelegate is the interface plugin config for DEL, STATUS and GC:
// the full config when it is valid, else the type and IPAM only, which
// is all macvlan and ipvlan need to delete.
func (n *RouterConf) lenientDelegate(env Env) plan.Delegate {
	// The interface plugin's config never depends on the destinations,
	// and parsing a thousand of them would be most of DEL's own time.
	n.dropDestinations()
	if c, err := n.validate(Env{IfName: env.IfName, PodName: env.PodName}); err == nil {
		return deletable(c.DelegateConf())
	}
	typ := strings.ToLower(strings.TrimSpace(n.InterfaceType))
	if typ != "ipvlan" {
		typ = "macvlan"
	}
	d := plan.Delegate{CNIVersion: n.CNIVersion, Name: n.Name, Type: typ, IPAM: plan.IPAM{Type: plan.StaticIPAM}}
	if m, ok := n.InterfaceArgs["master"]; ok {
		d.Master = strings.TrimSpace(string(m))
	}
	return deletable(d)
}

// dropDestinations forgets what to redirect, in ip and in every podIP
// entry, keeping the addresses and gateways.
func (n *RouterConf) dropDestinations() {
	for _, ip := range append([]*IP{n.IP}, mapValues(n.PodIP)...) {
		if ip != nil {
			ip.Destinations, ip.FallbackIP = nil, ""
		}
	}
}

func mapValues(m map[string]*IP) []*IP {
	out := make([]*IP, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// deletable makes a guessed interface plugin config one the plugin's DEL
// takes: a name and a version it supports (skel refuses others before
// the plugin runs).
func deletable(d plan.Delegate) plan.Delegate {
	if d.Name == "" {
		d.Name = string(EgressRouter)
	}
	if !supportedVersion(d.CNIVersion) {
		d.CNIVersion = "1.0.0"
	}
	return d
}

// Validate checks a plugin's config on its own, as far as that goes
// without an attachment (no prevResult, pod or node): what a
// NetworkAttachmentDefinition can be checked for before a pod uses it.
// It returns the destinations the config redirects.
func Validate(p Plugin, stdin []byte, env Env) (dest.Set, error) {
	switch p {
	case EgressRouter:
		r, err := ParseRouter(stdin, env)
		if err != nil {
			return dest.Set{}, err
		}
		return r.Destinations, nil
	case EgressRoute:
		_, _, err := parseRoute(stdin)
		return dest.Set{}, err
	case EgressNAT:
		_, s, err := parseNAT(stdin)
		if err != nil {
			return dest.Set{}, err
		}
		return s.destinations, nil
	}
	return dest.Set{}, cnierr.Config("type %q is not one of our plugins", p)
}

// parseRoute decodes and validates egress-route's config.
func parseRoute(stdin []byte) (*RouteConf, *routeSettings, error) {
	n := &RouteConf{}
	if err := decode(stdin, n); err != nil {
		return nil, nil, err
	}
	s, err := n.RouteOptions.settings(n.Cluster, n.Gateway)
	if err != nil {
		return nil, nil, err
	}
	return n, s, checkLevel(n.Logging)
}

// parseNAT decodes and validates egress-nat's config.
func parseNAT(stdin []byte) (*NATConf, *natSettings, error) {
	n := &NATConf{}
	if err := decode(stdin, n); err != nil {
		return nil, nil, err
	}
	s, err := n.settings()
	if err != nil {
		return nil, nil, err
	}
	return n, s, checkLevel(n.Logging)
}

// checkLevel validates log_level.
func checkLevel(l Logging) error {
	if _, err := logging.ParseLevel(l.LogLevel); err != nil {
		return cnierr.Config("log_level: %v", err)
	}
	return nil
}

// parsePrev parses a config's prevResult (any version) into a 1.x
// result. It returns nil, nil when the config carries none.
func parsePrev(conf *types.NetConf) (*current.Result, error) {
	if conf.RawPrevResult == nil {
		return nil, nil
	}
	if err := version.ParsePrevResult(conf); err != nil {
		return nil, cnierr.Config("prevResult: cannot parse: %v", err)
	}
	res, err := current.NewResultFromResult(conf.PrevResult)
	if err != nil {
		return nil, cnierr.Config("prevResult: cannot convert to version %s: %v", current.ImplementedSpecVersion, err)
	}
	return res, nil
}
