package nat

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"sort"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"golang.org/x/sys/unix"

	"github.com/egress-router/egress-router/chain/netx"
)

// The nftables form of a ruleset: a table per attachment and family (ip,
// ip6) named "egress-<egress interface>", with a dstnat prerouting chain,
// a srcnat postrouting chain, the per-port rules as one map, and two
// mangle chains marking the replies of connections that arrived on the
// cluster interface (see netx.ReplyMark). An empty table
// "egress_forwarding" marks that an attachment turned forwarding on; no
// attachment's table can take that name. Everything here is pure: it
// builds the objects and expressions the netlink side writes, and
// compares what it reads back.
const (
	nftPrefix     = "egress-"
	nftForwarding = "egress_forwarding"
	nftPre        = "prerouting"
	nftPost       = "postrouting"
	nftMarkIn     = "mark-in"
	nftMarkOut    = "mark-out"
	// nftPorts is the map from "protocol . local port" to "address .
	// remote port": every per-port rule of an attachment is one element,
	// looked up by a single rule, so a thousand ports cost one rule and
	// one lookup per packet instead of a walk through a thousand rules.
	nftPorts = "ports"
)

// NFTTable names an egress interface's nftables table.
func NFTTable(egressIf string) string { return nftPrefix + egressIf }

func nftFamily(f netx.Family) nftables.TableFamily {
	if f == netx.V6 {
		return nftables.TableFamilyIPv6
	}
	return nftables.TableFamilyIPv4
}

func nftTable(rs Ruleset) *nftables.Table {
	return &nftables.Table{Name: NFTTable(rs.Egress), Family: nftFamily(rs.Family)}
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

func ipBytes(ip net.IP, f netx.Family) []byte {
	if f == netx.V4 {
		return ip.To4()
	}
	return ip.To16()
}

var protoNum = map[string]byte{"tcp": unix.IPPROTO_TCP, "udp": unix.IPPROTO_UDP, "sctp": unix.IPPROTO_SCTP}

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
	if rs.Family == netx.V6 {
		addrType = nftables.TypeIP6Addr
	}
	// Size tells the kernel how many elements come: it picks a hash of
	// that size at once instead of a resizable one, which grows in the
	// background after the transaction, and whose dumps during a resize
	// return some elements twice and others not at all (a CHECK right
	// after a 1000-rule ADD failed that way).
	set := &nftables.Set{Table: t, Name: nftPorts, IsMap: true, Concatenation: true, Size: uint32(len(rs.Rules)),
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
	if rs.Family == netx.V6 {
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

// le32 is a 32-bit register value as the kernel holds marks.
func le32(v uint32) []byte {
	b := make([]byte, 4)
	binary.NativeEndian.PutUint32(b, v)
	return b
}

// setBit sets netx.ReplyMark in register 1: (r & ^bit) ^ bit.
func setBit() *expr.Bitwise {
	return &expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: le32(^netx.ReplyMark), Xor: le32(netx.ReplyMark)}
}

// nftMarks renders the reply-path marking: connections arriving on the
// cluster interface get the mark in conntrack; packets in the reply
// direction of such connections get it as their own mark, in prerouting
// (replies forwarded to the client) and in a route chain on output
// (replies from the pod itself), so the route step's rules send them
// back out of the cluster interface. Packets in the original direction
// are never marked: the redirected connection must leave through the
// egress interface.
func nftMarks(rs Ruleset) (in, out []nftRule) {
	newOnCluster := nftRule{fmt.Sprintf("iifname %s ct state new ct mark set ct mark | %#x", rs.Cluster, netx.ReplyMark), []expr.Any{
		&expr.Meta{Key: expr.MetaKeyIIFNAME, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: ifname(rs.Cluster)},
		&expr.Ct{Key: expr.CtKeySTATE, Register: 1},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: le32(expr.CtStateBitNEW), Xor: le32(0)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: le32(0)},
		&expr.Ct{Key: expr.CtKeyMARK, Register: 1},
		setBit(),
		&expr.Ct{Key: expr.CtKeyMARK, Register: 1, SourceRegister: true},
	}}
	reply := nftRule{fmt.Sprintf("ct direction reply ct mark & %#x != 0 meta mark set meta mark | %#x", netx.ReplyMark, netx.ReplyMark), []expr.Any{
		&expr.Ct{Key: expr.CtKeyDIRECTION, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{1}},
		&expr.Ct{Key: expr.CtKeyMARK, Register: 1},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: le32(netx.ReplyMark), Xor: le32(0)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: le32(0)},
		&expr.Meta{Key: expr.MetaKeyMARK, Register: 1},
		setBit(),
		&expr.Meta{Key: expr.MetaKeyMARK, Register: 1, SourceRegister: true},
	}}
	return []nftRule{newOnCluster, reply}, []nftRule{reply}
}

// nftLines renders the ruleset as `nft list table` would show its rules,
// for dry runs and logs.
func nftLines(rs Ruleset) []string {
	dnat, snat := nftRules(rs)
	fam := "ip"
	if rs.Family == netx.V6 {
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
	in, mout := nftMarks(rs)
	for _, r := range in {
		out = append(out, "  "+nftMarkIn+": "+r.text)
	}
	for _, r := range mout {
		out = append(out, "  "+nftMarkOut+": "+r.text)
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

// nftMarkChains are the reply-path marking chains: a filter chain on
// prerouting and a route chain on output (a mark set there reroutes the
// packet), both at mangle priority, before NAT.
func nftMarkChains(t *nftables.Table) (in, out *nftables.Chain) {
	accept := nftables.ChainPolicyAccept
	in = &nftables.Chain{Name: nftMarkIn, Table: t, Type: nftables.ChainTypeFilter, Hooknum: nftables.ChainHookPrerouting,
		Priority: nftables.ChainPriorityMangle, Policy: &accept}
	out = &nftables.Chain{Name: nftMarkOut, Table: t, Type: nftables.ChainTypeRoute, Hooknum: nftables.ChainHookOutput,
		Priority: nftables.ChainPriorityMangle, Policy: &accept}
	return in, out
}

// nftChainRules are the table's chains with the rules each holds.
func nftChainRules(rs Ruleset, t *nftables.Table) []struct {
	chain *nftables.Chain
	rules []nftRule
} {
	pre, post := nftChains(t)
	in, out := nftMarkChains(t)
	dnat, snat := nftRules(rs)
	min, mout := nftMarks(rs)
	return []struct {
		chain *nftables.Chain
		rules []nftRule
	}{{pre, dnat}, {post, snat}, {in, min}, {out, mout}}
}

// sameChain compares a chain read back with the one we make: a nat base
// chain on the same hook with the same priority.
func sameChain(have, want *nftables.Chain) bool {
	return have.Type == want.Type && have.Hooknum != nil && *have.Hooknum == *want.Hooknum &&
		have.Priority != nil && *have.Priority == *want.Priority
}

// samePorts compares the ports map's elements read back with the ruleset.
func samePorts(rs Ruleset, have []nftables.SetElement) error {
	_, elems, texts := nftPortMap(rs, nil)
	key := func(e nftables.SetElement) string { return string(e.Key) + "\x00" + string(e.Val) }
	want := map[string]string{}
	for i, e := range elems {
		want[key(e)] = texts[i]
	}
	extra := 0
	for _, e := range have {
		if _, ok := want[key(e)]; ok {
			delete(want, key(e))
			continue
		}
		extra++
	}
	if len(want) == 0 && extra == 0 {
		return nil
	}
	var missing []string
	for _, t := range want {
		missing = append(missing, t)
	}
	sort.Strings(missing)
	return fmt.Errorf("IPv%d nftables map %s %s differs: %d ports missing %q, %d not from the config", rs.Family, NFTTable(rs.Egress), nftPorts, len(missing), missing, extra)
}

// sameRules compares rules read back with the ones we make, expression by
// expression as the kernel encodes them.
func sameRules(f netx.Family, have []*nftables.Rule, want []nftRule) error {
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
	fam := byte(nftFamily(f))
	for i := range want {
		a, err := marshalExprs(fam, readBack(have[i].Exprs, want[i].exprs))
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

// readBack makes up for what the nftables library loses reading a rule
// back: it does not decode a ct expression's source register, so
// "ct mark set" comes back as a ct load into register 0. Such an
// expression stands for the set we wrote when the key is the same; any
// other difference still shows.
func readBack(have, want []expr.Any) []expr.Any {
	out := make([]expr.Any, len(have))
	copy(out, have)
	for i, e := range out {
		h, ok := e.(*expr.Ct)
		if !ok || i >= len(want) {
			continue
		}
		if w, ok := want[i].(*expr.Ct); ok && w.SourceRegister && !h.SourceRegister && h.Register == 0 && h.Key == w.Key {
			fixed := *h
			fixed.SourceRegister, fixed.Register = true, w.Register
			out[i] = &fixed
		}
	}
	return out
}

func marshalExprs(fam byte, es []expr.Any) ([]byte, error) {
	var out []byte
	for _, e := range es {
		b, err := expr.Marshal(fam, e)
		if err != nil {
			return nil, fmt.Errorf("nftables expression %T: %w", e, err)
		}
		out = append(out, b...)
	}
	return out, nil
}
