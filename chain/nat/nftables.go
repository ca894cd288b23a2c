package nat

import (
	"fmt"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/egress-router/egress-router/chain/netx"
)

// nftablesBackend writes the rulesets over netlink, from a socket opened
// in the pod's netns, in one transaction; nothing is executed. The whole
// table is replaced on ADD and deleted on DEL.
type nftablesBackend struct{}

// sendBuffer bounds one transaction: the kernel refuses a netlink message
// larger than the socket's send buffer, and 1000 rules are ~300 KiB, above
// the usual 208 KiB default (and wmem_max), so we force a larger one
// (plugins run with CAP_NET_ADMIN).
const sendBuffer = 16 << 20

func bigSendBuffer(c *netlink.Conn) error {
	// Acknowledgements without a copy of each request: a thousandth of
	// the reading for a thousand rules.
	_ = c.SetOption(netlink.CapAcknowledge, true)
	rc, err := c.SyscallConn()
	if err != nil {
		return nil
	}
	_ = rc.Control(func(fd uintptr) {
		_ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, sendBuffer)
		// Each message is acknowledged with a copy of it: the replies
		// need the same room.
		_ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, sendBuffer)
	})
	return nil
}

// nftConn returns the pod's nftables connection: one lasting socket,
// opened from inside the pod's netns on the calling thread.
func nftConn(p pod) (*nftables.Conn, error) {
	if p.nft.c != nil {
		return p.nft.c, nil
	}
	var c *nftables.Conn
	err := p.in(func() (err error) {
		c, err = nftables.New(nftables.AsLasting(), nftables.WithSockOptions(bigSendBuffer))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("nftables is not usable: %w", err)
	}
	p.nft.c = c
	return c, nil
}

func tableExists(c *nftables.Conn, fam nftables.TableFamily, name string) (bool, error) {
	ts, err := c.ListTablesOfFamily(fam)
	if err != nil {
		return false, err
	}
	for _, t := range ts {
		if t.Name == name {
			return true, nil
		}
	}
	return false, nil
}

// apply writes the rulesets, replacing tables of the same name, and the
// forwarding marker, in one transaction: all of it is in place or none.
func (nftablesBackend) apply(p pod, sets []Ruleset, markForwarding []netx.Family) error {
	c, err := nftConn(p)
	if err != nil {
		return err
	}
	for _, rs := range sets {
		t := nftTable(rs)
		exists, err := tableExists(c, t.Family, t.Name)
		if err != nil {
			return fmt.Errorf("failed to list nftables tables: %w", err)
		}
		if exists {
			c.DelTable(t)
		}
		c.AddTable(t)
		chains := nftChainRules(rs, t)
		if set, elems, _ := nftPortMap(rs, t); set != nil {
			if err := c.AddSet(set, elems); err != nil {
				return fmt.Errorf("failed to build the nftables port map: %w", err)
			}
			// The rule refers to the map made in the same transaction by
			// its ID.
			for _, e := range chains[0].rules[0].exprs {
				if l, ok := e.(*expr.Lookup); ok {
					l.SetID = set.ID
				}
			}
		}
		for _, ch := range chains {
			c.AddChain(ch.chain)
			for _, r := range ch.rules {
				c.AddRule(&nftables.Rule{Table: t, Chain: ch.chain, Exprs: r.exprs, UserData: userdata.AppendString(nil, userdata.TypeComment, r.text)})
			}
		}
		if contains(markForwarding, rs.Family) {
			c.AddTable(&nftables.Table{Name: nftForwarding, Family: t.Family})
		}
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("failed to write the nftables NAT tables: %w", err)
	}
	return nil
}

// nftInstalled reports whether an egress interface has an nftables table
// of a family.
func nftInstalled(p pod, f netx.Family, egressIf string) (bool, error) {
	c, err := nftConn(p)
	if err != nil {
		return false, err
	}
	return tableExists(c, nftFamily(f), NFTTable(egressIf))
}

// check verifies the tables exactly: both chains as nat base chains on
// the right hooks and priorities, holding exactly the expected rules,
// and the ports map holding exactly the per-port rules.
func (nftablesBackend) check(p pod, sets []Ruleset) error {
	c, err := nftConn(p)
	if err != nil {
		return err
	}
	for _, rs := range sets {
		t := nftTable(rs)
		ok, err := tableExists(c, t.Family, t.Name)
		if err != nil {
			return fmt.Errorf("failed to list nftables tables: %w", err)
		}
		if !ok {
			return fmt.Errorf("IPv%d nftables table %s is missing", rs.Family, t.Name)
		}
		if err := checkPorts(c, rs, t); err != nil {
			return err
		}
		for _, want := range nftChainRules(rs, t) {
			have, err := c.ListChain(t, want.chain.Name)
			if err != nil {
				return fmt.Errorf("IPv%d nftables chain %s %s is missing: %w", rs.Family, t.Name, want.chain.Name, err)
			}
			if !sameChain(have, want.chain) {
				return fmt.Errorf("IPv%d nftables chain %s %s is not a %s chain on its hook with priority %d", rs.Family, t.Name, want.chain.Name, want.chain.Type, *want.chain.Priority)
			}
			rules, err := c.GetRules(t, want.chain)
			if err != nil {
				return fmt.Errorf("failed to list IPv%d nftables chain %s %s: %w", rs.Family, t.Name, want.chain.Name, err)
			}
			if err := sameRules(rs.Family, rules, want.rules); err != nil {
				return fmt.Errorf("IPv%d nftables chain %s %s differs: %w", rs.Family, t.Name, want.chain.Name, err)
			}
		}
	}
	return nil
}

func checkPorts(c *nftables.Conn, rs Ruleset, t *nftables.Table) error {
	if len(rs.Rules) == 0 {
		return nil
	}
	set, err := c.GetSetByName(t, nftPorts)
	if err != nil {
		return fmt.Errorf("IPv%d nftables map %s %s is missing: %w", rs.Family, t.Name, nftPorts, err)
	}
	have, err := c.GetSetElements(set)
	if err != nil {
		return fmt.Errorf("failed to list IPv%d nftables map %s %s: %w", rs.Family, t.Name, nftPorts, err)
	}
	return samePorts(rs, have)
}

// remove deletes an egress interface's tables, every family asked, in one
// transaction, and reports per family what else is there: other egress
// tables, the forwarding marker, and iptables-nft's nat table.
func (nftablesBackend) remove(p pod, egress string, fams []netx.Family) (map[netx.Family]holding, error) {
	c, err := nftConn(p)
	if err != nil {
		return nil, nil // no nftables: nothing of ours can be there
	}
	held := map[netx.Family]holding{}
	del := false
	for _, f := range fams {
		fam := nftFamily(f)
		ts, err := c.ListTablesOfFamily(fam)
		if err != nil {
			return nil, fmt.Errorf("failed to list nftables tables: %w", err)
		}
		var h holding
		for _, t := range ts {
			switch {
			case t.Name == NFTTable(egress):
				del = true
				c.DelTable(&nftables.Table{Name: t.Name, Family: fam})
			case t.Name == nftForwarding:
				h.marker = true
			case t.Name == "nat":
				h.xtables = true
			case strings.HasPrefix(t.Name, nftPrefix):
				h.others = true
			}
		}
		held[f] = h
	}
	if del {
		if err := c.Flush(); err != nil {
			return held, fmt.Errorf("failed to delete the nftables NAT tables: %w", err)
		}
	}
	return held, nil
}

// release deletes the forwarding marker of the families.
func (nftablesBackend) release(p pod, fams []netx.Family) error {
	if len(fams) == 0 {
		return nil
	}
	c, err := nftConn(p)
	if err != nil {
		return err
	}
	for _, f := range fams {
		c.DelTable(&nftables.Table{Name: nftForwarding, Family: nftFamily(f)})
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("failed to delete the forwarding marker: %w", err)
	}
	return nil
}

// nftAvailable reports whether nftables can be used, for STATUS and auto.
func nftAvailable(p pod) error {
	c, err := nftConn(p)
	if err != nil {
		return err
	}
	if _, err := c.ListTables(); err != nil {
		return fmt.Errorf("nftables is not usable: %w", err)
	}
	return nil
}
