package nat

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"sort"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// The nftables backend keeps each attachment's NAT in a table of its own,
// per family (ip, ip6): "egress-<egress interface>" with a dstnat
// prerouting chain and a srcnat postrouting chain. The whole table is
// written in one netlink transaction and removed by deleting the table;
// nothing is executed. An empty table "egress-forwarding" marks that an
// attachment turned forwarding on (see ForwardingMarker).
const (
	nftPrefix     = "egress-"
	nftForwarding = "egress-forwarding"
	nftPre        = "prerouting"
	nftPost       = "postrouting"
)

// NFTTable names an egress interface's nftables table.
func NFTTable(egressIf string) string { return nftPrefix + egressIf }

func nftFamily(f Family) nftables.TableFamily {
	if f == 6 {
		return nftables.TableFamilyIPv6
	}
	return nftables.TableFamilyIPv4
}

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

func nftConn(nsFd int) (*nftables.Conn, error) {
	c, err := nftables.New(nftables.WithNetNSFd(nsFd), nftables.WithSockOptions(bigSendBuffer))
	if err != nil {
		return nil, fmt.Errorf("nftables is not usable: %v", err)
	}
	return c, nil
}

// nftRule is one rule as expressions, with its nft text for comments,
// logs and CHECK messages.
type nftRule struct {
	text  string
	exprs []expr.Any
}

func ifname(name string) []byte {
	b := make([]byte, unix.IFNAMSIZ)
	copy(b, name)
	return b
}

func be16(v int) []byte {
	b := make([]byte, 2)
	binary.BigEndian.PutUint16(b, uint16(v))
	return b
}

func ipBytes(ip net.IP, f Family) []byte {
	if f == 4 {
		return ip.To4()
	}
	return ip.To16()
}

var protoNum = map[string]byte{"tcp": unix.IPPROTO_TCP, "udp": unix.IPPROTO_UDP, "sctp": unix.IPPROTO_SCTP}

// nftPorts is the map from "protocol . local port" to "address . remote
// port": every per-port rule of an attachment is one element, looked up
// by a single rule, so a thousand ports cost one rule and one lookup per
// packet instead of a walk through a thousand rules.
const nftPorts = "ports"

// Registers of the map rule, numbered as the kernel dumps them (so CHECK
// compares like with like): a concatenation is laid out in 32-bit
// registers, and one starting a 128-bit register goes by that one's
// number. protocol -> NFT_REG_1 (= NFT_REG32_00), port -> NFT_REG32_01;
// the map's data comes back from NFT_REG_1: the address, then its port in
// NFT_REG32_01 (IPv4) or NFT_REG_2 (= NFT_REG32_04, after 16 bytes of
// IPv6 address).
const (
	regKey    = 1 // NFT_REG_1
	regPort32 = 9 // NFT_REG32_01
	regPort6  = 2 // NFT_REG_2
)

func pad4(b []byte) []byte {
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// nftPortMap returns the ports map and its elements, nil without
// per-port rules.
func nftPortMap(rs Ruleset, t *nftables.Table) (*nftables.Set, []nftables.SetElement, []string) {
	if len(rs.Rules) == 0 {
		return nil, nil, nil
	}
	addrType := nftables.TypeIPAddr
	if rs.Family == 6 {
		addrType = nftables.TypeIP6Addr
	}
	set := &nftables.Set{Table: t, Name: nftPorts, IsMap: true, Concatenation: true,
		KeyType:  nftables.MustConcatSetType(nftables.TypeInetProto, nftables.TypeInetService),
		DataType: nftables.MustConcatSetType(addrType, nftables.TypeInetService)}
	var elems []nftables.SetElement
	var texts []string
	for _, r := range rs.Rules {
		key := append(pad4([]byte{protoNum[r.Proto]}), pad4(be16(r.Port))...)
		val := append(pad4(ipBytes(r.IP, rs.Family)), pad4(be16(r.RemotePort))...)
		elems = append(elems, nftables.SetElement{Key: key, Val: val})
		texts = append(texts, fmt.Sprintf("%s . %d : %s . %d", r.Proto, r.Port, r.IP, r.RemotePort))
	}
	return set, elems, texts
}

// nftRules renders a ruleset's DNAT and SNAT rules.
func nftRules(rs Ruleset) (dnat, snat []nftRule) {
	natFam := uint32(unix.NFPROTO_IPV4)
	portReg := uint32(regPort32)
	if rs.Family == 6 {
		natFam, portReg = unix.NFPROTO_IPV6, regPort6
	}
	iif := []expr.Any{
		&expr.Meta{Key: expr.MetaKeyIIFNAME, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: ifname(rs.Cluster)},
	}
	if len(rs.Rules) > 0 {
		e := append([]expr.Any{}, iif...)
		e = append(e,
			&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: regKey},
			&expr.Payload{DestRegister: regPort32, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
			&expr.Lookup{SourceRegister: regKey, DestRegister: regKey, IsDestRegSet: true, SetName: nftPorts},
			&expr.NAT{Type: expr.NATTypeDestNAT, Family: natFam, RegAddrMin: regKey, RegAddrMax: regKey,
				RegProtoMin: portReg, RegProtoMax: portReg, Specified: true},
		)
		dnat = append(dnat, nftRule{fmt.Sprintf("iifname %s dnat to l4proto . dport map @%s (%d ports)", rs.Cluster, nftPorts, len(rs.Rules)), e})
	}
	if rs.Fallback != nil {
		e := append([]expr.Any{}, iif...)
		e = append(e,
			&expr.Immediate{Register: 1, Data: ipBytes(rs.Fallback, rs.Family)},
			&expr.NAT{Type: expr.NATTypeDestNAT, Family: natFam, RegAddrMin: 1, RegAddrMax: 1},
		)
		dnat = append(dnat, nftRule{fmt.Sprintf("iifname %s dnat to %s", rs.Cluster, rs.Fallback), e})
	}
	snat = []nftRule{{fmt.Sprintf("oifname %s snat to %s", rs.Egress, rs.Source), []expr.Any{
		&expr.Meta{Key: expr.MetaKeyOIFNAME, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: ifname(rs.Egress)},
		&expr.Immediate{Register: 1, Data: ipBytes(rs.Source, rs.Family)},
		&expr.NAT{Type: expr.NATTypeSourceNAT, Family: natFam, RegAddrMin: 1, RegAddrMax: 1},
	}}}
	return dnat, snat
}

// NFTLines renders the ruleset as `nft list table` would show its rules,
// for dry runs and logs.
func (rs Ruleset) NFTLines() []string {
	dnat, snat := nftRules(rs)
	fam := "ip"
	if rs.Family == 6 {
		fam = "ip6"
	}
	out := []string{fmt.Sprintf("table %s %s", fam, NFTTable(rs.Egress))}
	if _, _, texts := nftPortMap(rs, nil); len(texts) > 0 {
		for _, t := range texts {
			out = append(out, "  map "+nftPorts+": "+t)
		}
	}
	for _, r := range dnat {
		out = append(out, "  "+nftPre+": "+r.text)
	}
	for _, r := range snat {
		out = append(out, "  "+nftPost+": "+r.text)
	}
	return out
}

func nftChains(t *nftables.Table) (pre, post *nftables.Chain) {
	accept := nftables.ChainPolicyAccept
	pre = &nftables.Chain{Name: nftPre, Table: t, Type: nftables.ChainTypeNAT, Hooknum: nftables.ChainHookPrerouting,
		Priority: nftables.ChainPriorityNATDest, Policy: &accept}
	post = &nftables.Chain{Name: nftPost, Table: t, Type: nftables.ChainTypeNAT, Hooknum: nftables.ChainHookPostrouting,
		Priority: nftables.ChainPriorityNATSource, Policy: &accept}
	return pre, post
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

// nftApply writes the rulesets, replacing tables of the same name, and
// the forwarding marker for the families in markForwarding, in one
// transaction: all of it is in place or none.
func nftApply(nsFd int, sets []Ruleset, markForwarding []Family) error {
	c, err := nftConn(nsFd)
	if err != nil {
		return err
	}
	for _, rs := range sets {
		fam := nftFamily(rs.Family)
		t := &nftables.Table{Name: NFTTable(rs.Egress), Family: fam}
		exists, err := tableExists(c, fam, t.Name)
		if err != nil {
			return fmt.Errorf("failed to list nftables tables: %v", err)
		}
		if exists {
			c.DelTable(t)
		}
		c.AddTable(t)
		pre, post := nftChains(t)
		c.AddChain(pre)
		c.AddChain(post)
		dnat, snat := nftRules(rs)
		if set, elems, _ := nftPortMap(rs, t); set != nil {
			if err := c.AddSet(set, elems); err != nil {
				return fmt.Errorf("failed to build the nftables port map: %v", err)
			}
			// The rule refers to the map made in the same transaction by
			// its ID.
			for _, e := range dnat[0].exprs {
				if l, ok := e.(*expr.Lookup); ok {
					l.SetID = set.ID
				}
			}
		}
		for _, r := range dnat {
			c.AddRule(&nftables.Rule{Table: t, Chain: pre, Exprs: r.exprs, UserData: userdata.AppendString(nil, userdata.TypeComment, r.text)})
		}
		for _, r := range snat {
			c.AddRule(&nftables.Rule{Table: t, Chain: post, Exprs: r.exprs, UserData: userdata.AppendString(nil, userdata.TypeComment, r.text)})
		}
		for _, f := range markForwarding {
			if f == rs.Family {
				c.AddTable(&nftables.Table{Name: nftForwarding, Family: fam})
			}
		}
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("failed to write the nftables NAT tables: %v", err)
	}
	return nil
}

// nftInstalled reports whether an egress interface has an nftables table
// of a family.
func nftInstalled(nsFd int, f Family, egressIf string) (bool, error) {
	c, err := nftConn(nsFd)
	if err != nil {
		return false, err
	}
	return tableExists(c, nftFamily(f), NFTTable(egressIf))
}

// nftCheck verifies the tables exactly: both chains as nat base chains on
// the right hooks and priorities, holding exactly the expected rules.
func nftCheck(nsFd int, sets []Ruleset) error {
	c, err := nftConn(nsFd)
	if err != nil {
		return err
	}
	for _, rs := range sets {
		fam := nftFamily(rs.Family)
		t := &nftables.Table{Name: NFTTable(rs.Egress), Family: fam}
		ok, err := tableExists(c, fam, t.Name)
		if err != nil {
			return fmt.Errorf("failed to list nftables tables: %v", err)
		}
		if !ok {
			return fmt.Errorf("IPv%d nftables table %s is missing", rs.Family, t.Name)
		}
		pre, post := nftChains(t)
		dnat, snat := nftRules(rs)
		if err := nftCheckMap(c, rs, t); err != nil {
			return err
		}
		for _, want := range []struct {
			chain *nftables.Chain
			rules []nftRule
		}{{pre, dnat}, {post, snat}} {
			have, err := c.ListChain(t, want.chain.Name)
			if err != nil {
				return fmt.Errorf("IPv%d nftables chain %s %s is missing: %v", rs.Family, t.Name, want.chain.Name, err)
			}
			if have.Type != want.chain.Type || have.Hooknum == nil || *have.Hooknum != *want.chain.Hooknum ||
				have.Priority == nil || *have.Priority != *want.chain.Priority {
				return fmt.Errorf("IPv%d nftables chain %s %s is not a nat chain on its hook with priority %d", rs.Family, t.Name, want.chain.Name, *want.chain.Priority)
			}
			rules, err := c.GetRules(t, want.chain)
			if err != nil {
				return fmt.Errorf("failed to list IPv%d nftables chain %s %s: %v", rs.Family, t.Name, want.chain.Name, err)
			}
			if err := sameRules(byte(fam), rules, want.rules); err != nil {
				return fmt.Errorf("IPv%d nftables chain %s %s differs: %v", rs.Family, t.Name, want.chain.Name, err)
			}
		}
	}
	return nil
}

// nftCheckMap verifies the ports map holds exactly the per-port rules.
func nftCheckMap(c *nftables.Conn, rs Ruleset, t *nftables.Table) error {
	want, elems, texts := nftPortMap(rs, t)
	if want == nil {
		return nil
	}
	set, err := c.GetSetByName(t, nftPorts)
	if err != nil {
		return fmt.Errorf("IPv%d nftables map %s %s is missing: %v", rs.Family, t.Name, nftPorts, err)
	}
	have, err := c.GetSetElements(set)
	if err != nil {
		return fmt.Errorf("failed to list IPv%d nftables map %s %s: %v", rs.Family, t.Name, nftPorts, err)
	}
	key := func(e nftables.SetElement) string { return string(e.Key) + "\x00" + string(e.Val) }
	wantSet := map[string]string{}
	for i, e := range elems {
		wantSet[key(e)] = texts[i]
	}
	extra := 0
	for _, e := range have {
		if _, ok := wantSet[key(e)]; ok {
			delete(wantSet, key(e))
			continue
		}
		extra++
	}
	if len(wantSet) > 0 || extra > 0 {
		var missing []string
		for _, t := range wantSet {
			missing = append(missing, t)
		}
		sort.Strings(missing)
		return fmt.Errorf("IPv%d nftables map %s %s differs: %d ports missing %q, %d not from the config", rs.Family, t.Name, nftPorts, len(missing), missing, extra)
	}
	return nil
}

func sameRules(fam byte, have []*nftables.Rule, want []nftRule) error {
	texts := func() []string {
		var out []string
		for _, r := range have {
			t, _ := userdata.GetString(r.UserData, userdata.TypeComment)
			out = append(out, t)
		}
		return out
	}
	wantTexts := make([]string, 0, len(want))
	for _, w := range want {
		wantTexts = append(wantTexts, w.text)
	}
	if len(have) != len(want) {
		return fmt.Errorf("want %d rules %q, have %d %q", len(want), wantTexts, len(have), texts())
	}
	for i := range want {
		a, err := marshalExprs(fam, have[i].Exprs)
		if err != nil {
			return err
		}
		b, err := marshalExprs(fam, want[i].exprs)
		if err != nil {
			return err
		}
		if !bytes.Equal(a, b) {
			return fmt.Errorf("rule %d is not %q (its comment says %q)", i+1, want[i].text, texts()[i])
		}
	}
	return nil
}

func marshalExprs(fam byte, es []expr.Any) ([]byte, error) {
	var out []byte
	for _, e := range es {
		b, err := expr.Marshal(fam, e)
		if err != nil {
			return nil, fmt.Errorf("nftables expression %T: %v", e, err)
		}
		out = append(out, b...)
	}
	return out, nil
}

// nftState is what nftables holds in a pod, per family, for DEL.
type nftState struct {
	ours, others, marker, xtables bool
}

// nftRemove deletes an egress interface's tables, both families, in one
// transaction, and reports per family what else is there: other egress
// tables, the forwarding marker, and iptables-nft's nat table.
func nftRemove(nsFd int, egressIf string) (map[Family]nftState, error) {
	c, err := nftConn(nsFd)
	if err != nil {
		return nil, nil // no nftables: nothing of ours can be there
	}
	st := map[Family]nftState{}
	del := false
	for _, f := range []Family{4, 6} {
		fam := nftFamily(f)
		ts, err := c.ListTablesOfFamily(fam)
		if err != nil {
			return nil, fmt.Errorf("failed to list nftables tables: %v", err)
		}
		var s nftState
		for _, t := range ts {
			switch {
			case t.Name == NFTTable(egressIf):
				s.ours = true
			case t.Name == nftForwarding:
				s.marker = true
			case t.Name == "nat":
				s.xtables = true
			case strings.HasPrefix(t.Name, nftPrefix):
				s.others = true
			}
		}
		if s.ours {
			del = true
			c.DelTable(&nftables.Table{Name: NFTTable(egressIf), Family: fam})
		}
		st[f] = s
	}
	if del {
		if err := c.Flush(); err != nil {
			return st, fmt.Errorf("failed to delete the nftables NAT tables: %v", err)
		}
	}
	return st, nil
}

// nftDropMarker deletes the forwarding marker of the families.
func nftDropMarker(nsFd int, fams []Family) error {
	if len(fams) == 0 {
		return nil
	}
	c, err := nftConn(nsFd)
	if err != nil {
		return err
	}
	for _, f := range fams {
		c.DelTable(&nftables.Table{Name: nftForwarding, Family: nftFamily(f)})
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("failed to delete the forwarding marker: %v", err)
	}
	return nil
}

// nftAvailable reports whether nftables can be used, for STATUS and auto.
func nftAvailable(nsFd int) error {
	c, err := nftConn(nsFd)
	if err != nil {
		return err
	}
	if _, err := c.ListTables(); err != nil {
		return fmt.Errorf("nftables is not usable: %v", err)
	}
	return nil
}
