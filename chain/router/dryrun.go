package router

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/vishvananda/netlink"

	"github.com/egress-router/egress-router/chain/attach"
	"github.com/egress-router/egress-router/chain/netx"
	"github.com/egress-router/egress-router/chain/nat"
	"github.com/egress-router/egress-router/chain/route"
)

// DryRun writes what ADD would do, without doing it: the interface
// plugin's config, the routes and the NAT rules, in the forms `ip route`
// and the NAT backend show them. The cluster interface's gateway is
// only known inside the pod, so it is written as <eth0 gateway>. Resolve
// first.
func (c *Config) DryRun(w io.Writer) error {
	ic, err := json.MarshalIndent(c.DelegateConf(), "", "  ")
	if err != nil {
		return err
	}
	master := c.Interface.Master
	switch {
	case master == "":
		master = "inferred on the node at ADD"
	case c.MasterHow != "":
		master += " (" + c.MasterHow + ")"
	}
	fmt.Fprintf(w, "# interface: upstream %s with static IPAM, master %s\n%s\n", c.Interface.Type, master, ic)
	cl := c.ClusterInterface()
	fmt.Fprintf(w, "\n# routes in the pod, main table, proto %d; %s's default routes move to table %d\n", route.Protocol, cl, route.SavedTable)
	// The route step's own plan, on stand-in links; only the cluster
	// gateway is unknown off the pod, and is written as <eth0 gateway>.
	rc := c.RouteConfig()
	masterIPs := rc.MasterIPs
	if masterIPs == nil {
		masterIPs = c.MasterAddrs
	}
	cluster := &netlink.Dummy{LinkAttrs: netlink.LinkAttrs{Name: cl, Index: 1}}
	egress := &netlink.Dummy{LinkAttrs: netlink.LinkAttrs{Name: c.IfName, Index: 2}}
	eg := &attach.Egress{IfName: c.IfName, Addrs: c.Addrs}
	for _, a := range c.Addrs {
		eg.Gateways = append(eg.Gateways, c.Gateway(a))
	}
	unknown := func(int) (net.IP, error) { return net.IPv4zero, nil }
	plan, err := route.MakePlan(rc, eg, egress, cluster, masterIPs, unknown)
	if err != nil {
		return err
	}
	for _, r := range plan.Routes {
		dst := strings.TrimSuffix(strings.TrimSuffix(r.Dst.String(), "/32"), "/128")
		switch {
		case r.LinkIndex == cluster.Index:
			fmt.Fprintf(w, "%s via <%s gateway> dev %s\n", dst, cl, cl)
		case r.Gw == nil:
			fmt.Fprintf(w, "%s dev %s scope link\n", dst, c.IfName)
		default:
			fmt.Fprintf(w, "default via %s dev %s\n", r.Gw, c.IfName)
		}
	}
	for _, a := range c.Addrs {
		if c.Gateway(a) == nil {
			fmt.Fprintf(w, "# IPv%d gateway: inferred on the node at ADD\n", netx.FamilyOf(a.IP))
		}
	}
	sets, err := c.Rules()
	if err != nil {
		return err
	}
	if len(sets) == 0 {
		fmt.Fprintln(w, "\n# NAT: none (no destinations): the pod only routes")
	}
	for _, rs := range sets {
		if c.Backend != nat.IPTables {
			how := "nftables"
			if c.Backend == nat.Auto {
				how = "nftables (backend auto: iptables instead if the pod already has legacy iptables NAT)"
			}
			fmt.Fprintf(w, "\n# %s, forwarding on: %s\n", how, forwardingSysctl(int(rs.Family)))
			fmt.Fprintln(w, strings.Join(rs.NFTLines(), "\n"))
			continue
		}
		cmd := "iptables"
		if rs.Family == 6 {
			cmd = "ip6tables"
		}
		fmt.Fprintf(w, "\n# %s -t nat -S (forwarding on: %s)\n", cmd, forwardingSysctl(int(rs.Family)))
		fmt.Fprintln(w, strings.Join(rs.Lines(), "\n"))
	}
	return nil
}

func forwardingSysctl(fam int) string {
	if fam == 4 {
		return "net.ipv4.ip_forward=1"
	}
	return "net.ipv6.conf.all.forwarding=1"
}

// AddrStrings returns the reserved addresses in CIDR form.
func (c *Config) AddrStrings() []string {
	out := make([]string, 0, len(c.Addrs))
	for _, a := range c.Addrs {
		out = append(out, a.String())
	}
	return out
}
