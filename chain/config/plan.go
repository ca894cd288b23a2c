package config

import (
	"fmt"
	"net"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/vishvananda/netlink"

	"github.com/egress-router/egress-router/chain/cnierr"
	"github.com/egress-router/egress-router/chain/nat"
	"github.com/egress-router/egress-router/chain/plan"
)

// Plan is egress-router's plan for the pod: the interface plugin, the
// routes, the NAT and the announcement. Resolve first; an unresolved
// config gives a plan for a dry run, with what the node would supply
// left open.
func (c *Router) Plan(pod plan.Pod) plan.Plan {
	p := plan.Plan{Pod: pod, CNIVersion: c.CNIVersion,
		Interface: &plan.Interface{Conf: c.DelegateConf(), MasterHow: c.MasterHow}}
	rp := c.routes.plan(c.IfName, c.Addrs, c.Gateways, nil, c.MasterAddrs)
	p.Routes = &rp
	if len(c.rules) > 0 {
		p.NAT = &plan.NAT{Backend: c.Backend, Sets: c.rules}
	}
	for _, a := range c.Addrs {
		p.Announce = append(p.Announce, a.IP)
	}
	if len(c.Dropped) > 0 {
		p.Warnings = append(p.Warnings, fmt.Sprintf("%s: destinations not in ipConfig.overrides.destinations, left out: %q", c.Field, c.Dropped))
	}
	return p
}

// routeAttachment is egress-route's config for one attachment.
type routeAttachment struct {
	settings *routeSettings
	egress   *plan.Egress
}

// plan is egress-route's plan: the routes for the interface prevResult
// names. The master host's addresses, unless given, are those of the
// egress link's parent on the node (read here, in the netns we run in).
func (r *routeAttachment) plan(env Env) (plan.Plan, error) {
	var master []net.IP
	pol, field := env.policy(), egressField(r.egress)
	findsMaster, parent := r.settings.needsMaster() || pol.RestrictsMasters(), 0
	if findsMaster {
		var err error
		if parent, err = parentIndex(env, r.egress.IfName); err != nil {
			return plan.Plan{}, err
		}
	}
	err := onNode(func(h netlinksafe.Handle, have []netlink.Addr) error {
		if findsMaster {
			m, err := findMaster(h, have, parent, r.egress.Addrs)
			if err != nil {
				return fmt.Errorf("master host route: %w (set masterIPs, or masterRoutes false)", err)
			}
			if err := guardMaster(pol, "the master of "+r.egress.IfName, m.Link); err != nil {
				return err
			}
			master = m.IPs
		}
		return guardNode(field, r.egress.Addrs, have)
	})
	if err != nil {
		return plan.Plan{}, err
	}
	facts, err := guardPod(env, r.settings.clusterInterface, field, r.egress.Addrs)
	if err != nil {
		return plan.Plan{}, err
	}
	rp := r.settings.plan(r.egress.IfName, r.egress.Addrs, r.settings.gateways, egressGateways(r.egress), master)
	var notes []string
	rp.ViaCluster, notes = withoutConnected(rp.ViaCluster, facts.clusterSubnets)
	return plan.Plan{Routes: &rp, Notes: notes}, nil
}

// parentIndex is the node-side index of the egress link's parent: a
// parent in another netns (link-netnsid set) is the master on the node;
// one in the pod itself says nothing about the node.
func parentIndex(env Env, ifName string) (int, error) {
	parent := 0
	err := env.podNetlink(func(h netlinksafe.Handle) error {
		l, err := h.LinkByName(ifName)
		if err != nil {
			return cnierr.Config("egress interface %q not found in the pod: %v", ifName, err)
		}
		if l.Attrs().NetNsID >= 0 {
			parent = l.Attrs().ParentIndex
		}
		return nil
	})
	return parent, err
}

// natAttachment is egress-nat's config for one attachment.
type natAttachment struct {
	backend nat.Backend
	sets    []nat.Ruleset
}

func (n *natAttachment) plan() plan.Plan {
	return plan.Plan{NAT: &plan.NAT{Backend: n.backend, Sets: n.sets}}
}
