package config

import (
	"fmt"
	"net"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/egress-router/egress-router/chain/cnierr"
	"github.com/egress-router/egress-router/chain/netx"
)

// Resolve fills in what the config may leave to the host, looking at the
// current network namespace (the node's): the master, when
// interfaceArgs.master is absent, is the single host link whose subnet
// holds a reserved address, else the host's default-route link; a family
// without a gateway takes the gateway of a host route through the master
// that lies in the reserved address's subnet. It changes nothing.
func (c *Router) Resolve() error {
	return onNode(c.resolve)
}

// resolve is Resolve with the node's netlink socket and addresses.
func (c *Router) resolve(h netlinksafe.Handle, have []netlink.Addr) error {
	var master netlink.Link
	if c.Interface.Master != "" {
		l, err := h.LinkByName(c.Interface.Master)
		if err != nil {
			return cnierr.Config("interfaceArgs.master %q: no such link on the host: %v", c.Interface.Master, err)
		}
		master, c.MasterHow = l, "interfaceArgs.master"
	} else {
		m, err := findMaster(h, have, 0, c.Addrs)
		if err != nil {
			return cnierr.Config("interfaceArgs.master: not set and cannot be inferred: %v", err)
		}
		l, err := h.LinkByName(m.Link)
		if err != nil {
			return cnierr.Config("interfaceArgs.master: inferred %q but cannot read it: %v", m.Link, err)
		}
		master, c.MasterHow = l, m.How
		c.Interface.Master = m.Link
		if err := guardMaster(c.policy, "interfaceArgs.master (inferred)", m.Link); err != nil {
			return err
		}
	}
	if err := guardNode(c.Field+".addresses", c.Addrs, have); err != nil {
		return err
	}
	idx := master.Attrs().Index
	if err := c.barePrefixes(c.policy, c.bare, linkSubnets(have, idx)); err != nil {
		return err
	}
	c.MasterAddrs = globalIPs(have, idx)
	for _, a := range c.Addrs {
		fam := netx.FamilyOf(a.IP)
		if c.gateway(fam) != nil {
			continue
		}
		gw, err := inferGateway(h, have, master, a)
		if err != nil {
			return cnierr.Prefix(c.Field+".gateway", err)
		}
		c.Gateways = append(c.Gateways, gw)
	}
	return nil
}

func (c *Router) gateway(fam netx.Family) net.IP {
	for _, g := range c.Gateways {
		if netx.FamilyOf(g) == fam {
			return g
		}
	}
	return nil
}

// Gateway returns the gateway of the address's family, or nil.
func (c *Router) Gateway(a *net.IPNet) net.IP { return c.gateway(netx.FamilyOf(a.IP)) }

// inferGateway picks the gateway of a main-table route through the master
// that lies in the address's subnet (or, for a host address, in the
// subnet of the master's own address that holds it), preferring the
// default route.
func inferGateway(h netlinksafe.Handle, have []netlink.Addr, master netlink.Link, a *net.IPNet) (net.IP, error) {
	fam := netlink.FAMILY_V4
	if a.IP.To4() == nil {
		fam = netlink.FAMILY_V6
	}
	subnets := []*net.IPNet{{IP: a.IP.Mask(a.Mask), Mask: a.Mask}}
	for _, ma := range have {
		if ma.LinkIndex == master.Attrs().Index && ma.IPNet != nil && ma.IPNet.Contains(a.IP) {
			subnets = append(subnets, ma.IPNet)
		}
	}
	routes, err := h.RouteListFiltered(fam, &netlink.Route{Table: unix.RT_TABLE_MAIN, LinkIndex: master.Attrs().Index},
		netlink.RT_FILTER_TABLE|netlink.RT_FILTER_OIF)
	if err != nil {
		return nil, cnierr.IO("failed to list the routes of master %q: %v", master.Attrs().Name, err)
	}
	var found net.IP
	for _, r := range routes {
		if r.Gw == nil {
			continue
		}
		in := false
		for _, s := range subnets {
			in = in || s.Contains(r.Gw)
		}
		if !in {
			continue
		}
		if r.Dst == nil || isZero(r.Dst) {
			return r.Gw, nil
		}
		if found == nil {
			found = r.Gw
		}
	}
	if found != nil {
		return found, nil
	}
	return nil, cnierr.Config("not set, and no route through master %q has a gateway in %s's subnet; set it", master.Attrs().Name, a)
}

func isZero(n *net.IPNet) bool {
	ones, _ := n.Mask.Size()
	return ones == 0
}

// String describes the resolved interface, for logs.
func (i Interface) String() string {
	s := fmt.Sprintf("%s on %s mode %s", i.Type, i.Master, i.Mode)
	if i.MTU > 0 {
		s += fmt.Sprintf(" mtu %d", i.MTU)
	}
	return s
}
