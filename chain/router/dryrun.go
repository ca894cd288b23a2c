package router

import (
	"encoding/json"
	"fmt"
	"io"

	"strings"

	"github.com/egress-router/egress-router/chain/dest"
	"github.com/egress-router/egress-router/chain/nat"
	"github.com/egress-router/egress-router/chain/route"
)

// DryRun writes what ADD would do, without doing it: the interface
// plugin's config, the routes and the NAT rules, in the forms `ip route`
// and `iptables -t nat -S` show them. The cluster interface's gateway is
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
	clusterGW := "<" + cl + " gateway>"
	fmt.Fprintf(w, "\n# routes in the pod, main table, proto %d; %s's default routes move to table %d\n", route.Protocol, cl, route.SavedTable)
	rc := c.RouteConfig()
	masterIPs := rc.MasterIPs
	if masterIPs == nil {
		masterIPs = c.MasterAddrs
	}
	var via, hosts, defaults []string
	for _, a := range c.Addrs {
		fam := dest.Family(a.IP)
		for _, n := range rc.ViaCluster {
			if dest.Family(n.IP) == fam {
				via = append(via, fmt.Sprintf("%s via %s dev %s", n, clusterGW, cl))
			}
		}
		if !rc.NoMasterRoutes {
			for _, ip := range masterIPs {
				if dest.Family(ip) == fam {
					via = append(via, fmt.Sprintf("%s via %s dev %s", ip, clusterGW, cl))
				}
			}
		}
		gw := c.Gateway(a)
		if gw == nil {
			defaults = append(defaults, fmt.Sprintf("# IPv%d gateway: inferred on the node at ADD", fam))
			continue
		}
		hosts = append(hosts, fmt.Sprintf("%s dev %s scope link", gw, c.IfName))
		defaults = append(defaults, fmt.Sprintf("default via %s dev %s", gw, c.IfName))
	}
	for _, l := range append(append(via, hosts...), defaults...) {
		fmt.Fprintln(w, l)
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
