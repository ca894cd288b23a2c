package nat

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"

	"github.com/egress-router/egress-router/chain/netx"
)

// The iptables backend needs to know what the pod's tables hold before
// it writes (which jumps are there, which chains) and an iptables-save
// is a process start, about as long as the restore itself. Where the
// node's iptables is iptables-nft, its tables are nftables tables, so the
// pod's nftables socket reads the same facts in a few netlink requests;
// where it is legacy, a pod the kernel has no nat or mangle table for
// holds nothing. Writing still goes through iptables-restore: the tables
// are iptables-nft's to write.

// xtVariant says which iptables the node's tool for a family is:
// "nft", "legacy", or "" when its name does not tell (a wrapper script),
// where the backend keeps reading with iptables-save.
func xtVariant(f netx.Family) string {
	variantOnce.Do(func() {
		for _, g := range netx.Families {
			variants[g] = variantOf(tool(g, "tables-restore"))
		}
	})
	return variants[f]
}

var (
	variantOnce sync.Once
	variants    = map[netx.Family]string{}
)

// variantOf follows the tool's symlinks (Debian's alternatives, the
// xtables-*-multi binaries) to the name that says its variant.
func variantOf(name string) string {
	path, err := exec.LookPath(name)
	if err != nil {
		return ""
	}
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return ""
	}
	base := filepath.Base(real)
	switch {
	case strings.Contains(base, "-nft"):
		return "nft"
	case strings.Contains(base, "legacy"):
		return "legacy"
	}
	return ""
}

// iptHave is what the pod's iptables holds for a family, as much of an
// iptables-save as applyLines and removeLines use, read without a
// process where the tool's variant allows.
func iptHave(p pod, f netx.Family) (tables, error) {
	switch xtVariant(f) {
	case "nft":
		if c, err := nftConn(p); err == nil {
			if t, ok := xtRead(c, f); ok {
				return t, nil
			}
		}
	case "legacy":
		if !legacyTable(f, tableNAT) && !legacyTable(f, tableMangle) {
			return tables{}, nil
		}
	}
	return ipSave(f)
}

// xtRead reads iptables-nft's nat and mangle tables of a family: every
// chain's name, and the built-in chains' jumps to our chains, rendered
// as iptables-save renders them. ok is false when a jump to one of our
// chains has a form it cannot render exactly (then iptables-save must
// read it), or the read failed.
func xtRead(c *nftables.Conn, f netx.Family) (t tables, ok bool) {
	fam := nftFamily(f)
	chains, err := c.ListChainsOfTableFamily(fam)
	if err != nil {
		return nil, false
	}
	t = tables{}
	for _, ch := range chains {
		if ch.Table.Name != tableNAT && ch.Table.Name != tableMangle {
			continue
		}
		s := t.get(ch.Table.Name)
		t[ch.Table.Name] = s
		s.chains[ch.Name] = true
		if ch.Hooknum == nil {
			continue
		}
		rules, err := c.GetRules(ch.Table, ch)
		if err != nil {
			return nil, false
		}
		for _, r := range rules {
			spec, target, exact := xtJump(r.Exprs)
			if !strings.HasPrefix(target, "EGRESS-") {
				continue
			}
			if !exact {
				return nil, false
			}
			s.rules[ch.Name] = append(s.rules[ch.Name], spec)
		}
	}
	return t, true
}

// xtJump renders a rule of the forms our jumps take (`[-i IF | -o IF] -j
// CHAIN`) as iptables-save does. target is the chain it jumps to, if
// any; exact is false for any other form.
func xtJump(es []expr.Any) (spec, target string, exact bool) {
	var parts []string
	var meta *expr.Meta
	exact = true
	for _, e := range es {
		switch e := e.(type) {
		case *expr.Meta:
			if e.Key != expr.MetaKeyIIFNAME && e.Key != expr.MetaKeyOIFNAME || meta != nil {
				exact = false
			}
			meta = e
		case *expr.Cmp:
			name, whole := bytes.CutSuffix(e.Data, []byte{0})
			if meta == nil || e.Op != expr.CmpOpEq || e.Register != meta.Register || !whole {
				exact = false
				continue
			}
			flag := "-i"
			if meta.Key == expr.MetaKeyOIFNAME {
				flag = "-o"
			}
			parts = append(parts, flag, string(bytes.TrimRight(name, "\x00")))
			meta = nil
		case *expr.Counter:
		case *expr.Verdict:
			if e.Kind != expr.VerdictJump {
				exact = false
				continue
			}
			target = e.Chain
		default:
			exact = false
		}
	}
	if meta != nil || target == "" {
		exact = false
	}
	return strings.Join(append(parts, "-j", target), " "), target, exact
}

// legacyTable reports whether legacy iptables has a table of the name
// in the current thread's netns: the kernel lists those it instantiated
// there.
func legacyTable(f netx.Family, table string) bool {
	for _, t := range legacyTables(f) {
		if t == table {
			return true
		}
	}
	return false
}
