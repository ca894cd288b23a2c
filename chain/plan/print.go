package plan

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/egress-router/egress-router/chain/nat"
	"github.com/egress-router/egress-router/chain/netx"
	"github.com/egress-router/egress-router/chain/route"
)

// Print writes what ADD would do, without doing it: the interface
// plugin's config, the routes and the NAT rules, in the forms `ip route`
// and the NAT backend show them. What is only known on the node or in
// the pod is said so.
func (p Plan) Print(w io.Writer) error {
	if p.Interface != nil {
		ic, err := json.MarshalIndent(p.Interface.Conf, "", "  ")
		if err != nil {
			return err
		}
		master := p.Interface.Conf.Master
		switch {
		case master == "":
			master = "inferred on the node at ADD"
		case p.Interface.MasterHow != "":
			master += " (" + p.Interface.MasterHow + ")"
		}
		fmt.Fprintf(w, "# interface: upstream %s with static IPAM, master %s\n%s\n", p.Interface.Conf.Type, master, ic)
		var v4 []string
		for _, ip := range p.Announce {
			if ip.To4() != nil {
				v4 = append(v4, ip.String())
			}
		}
		if len(v4) > 0 {
			fmt.Fprintf(w, "# handover: first, ARP probes for %s on the master; ADD waits while another host answers "+
				"(node policy: addressProbeMillis, childTimeoutSeconds)\n", strings.Join(v4, ", "))
		}
	}
	if p.Routes != nil {
		rp := p.Routes
		fmt.Fprintf(w, "\n# routes in the pod, main table, proto %d; %s's default routes move to table %d\n", route.Protocol, rp.Cluster, route.SavedTable)
		for _, l := range rp.Lines() {
			fmt.Fprintln(w, l)
		}
		have := map[netx.Family]bool{}
		for _, g := range rp.Gateways {
			have[netx.FamilyOf(g)] = true
		}
		for _, a := range rp.Addrs {
			if f := netx.FamilyOf(a.IP); !have[f] {
				fmt.Fprintf(w, "# IPv%d gateway: inferred on the node at ADD\n", f)
			}
		}
		if rules := rp.RuleLines(); len(rules) > 0 {
			fmt.Fprintf(w, "\n# policy rules: replies to connections that arrived on %s leave through it\n", rp.Cluster)
			for _, l := range rules {
				fmt.Fprintln(w, l)
			}
		}
	}
	if p.NAT == nil || len(p.NAT.Sets) == 0 {
		fmt.Fprintln(w, "\n# NAT: none (no destinations): the pod only routes")
		return nil
	}
	for _, rs := range p.NAT.Sets {
		on := nat.ForwardingSysctl(rs.Family) + "=1"
		switch p.NAT.Backend {
		case nat.IPTables:
			cmd := "iptables"
			if rs.Family == netx.V6 {
				cmd = "ip6tables"
			}
			fmt.Fprintf(w, "\n# %s -t nat -S (forwarding on: %s)\n", cmd, on)
		case nat.NFTables:
			fmt.Fprintf(w, "\n# nftables, forwarding on: %s\n", on)
		default:
			fmt.Fprintf(w, "\n# nftables (backend auto: iptables instead if the pod already has legacy iptables NAT), forwarding on: %s\n", on)
		}
		fmt.Fprintln(w, strings.Join(nat.Describe(p.NAT.Backend, rs), "\n"))
	}
	return nil
}
