package nat

import (
	"os"
	"strings"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/google/nftables"

	"github.com/egress-router/egress-router/chain/netx"
)

// Backend names a way of installing the NAT.
type Backend string

// The backends. Auto picks nftables unless the pod already uses legacy
// iptables NAT (then iptables, so both stay in one place for whoever
// reads them).
const (
	Auto     Backend = "auto"
	IPTables Backend = "iptables"
	NFTables Backend = "nftables"
)

// BackendEnv, when set to iptables or nftables, replaces auto: a node-wide
// default without editing every config (and how the tests run the whole
// suite against each backend).
const BackendEnv = "EGRESS_NAT_BACKEND"

// backend is one way of writing rulesets into a pod. Each lives in a file
// of its own; what they render is built without I/O in its *_rules.go.
type backend interface {
	// apply installs the rulesets, replacing the attachment's previous
	// ones, and records the forwarding marker for the families in
	// markForwarding. On failure nothing of it stays.
	apply(p pod, sets []Ruleset, markForwarding []netx.Family) error
	// check verifies the rulesets are installed exactly.
	check(p pod, sets []Ruleset) error
	// remove deletes the egress interface's NAT in the families and
	// reports what the backend still holds there.
	remove(p pod, egress string, fams []netx.Family) (map[netx.Family]holding, error)
	// release drops the backend's forwarding marker of the families.
	release(p pod, fams []netx.Family) error
}

// holding is what a backend holds in a pod for one family after a
// removal: other attachments' NAT, the forwarding marker, and (nftables
// only) iptables-nft's nat table, which says iptables is in use.
type holding struct {
	others, marker, xtables bool
}

func (b Backend) impl() backend {
	if b == IPTables {
		return iptablesBackend{}
	}
	return nftablesBackend{}
}

// pod is the pod's network namespace as the backends use it: nftables
// talks to it through one netlink socket opened there for the whole
// call, iptables runs its tools on the calling thread switched into it.
type pod struct {
	ns  ns.NetNS
	nft *nftSocket
}

// nftSocket is the pod's nftables connection, opened on first use.
// nftables' own netns option opens a socket on a thread it then throws
// away, and each operation of a non-lasting connection opens one: three
// new threads per ADD, which cost more than the rules.
type nftSocket struct{ c *nftables.Conn }

func newPod(n ns.NetNS) pod { return pod{ns: n, nft: &nftSocket{}} }

// close closes the nftables connection; p is not used after.
func (p pod) close() {
	if p.nft.c != nil {
		_ = p.nft.c.CloseLasting()
		p.nft.c = nil
	}
}

// in runs f inside the pod's netns on the current thread.
func (p pod) in(f func() error) error { return netx.Inside(p.ns, f) }

// choose resolves auto for the pod whose netns the current thread is in;
// nftOK says whether nftables answered there.
func choose(b Backend, nftOK bool) Backend {
	if b == IPTables || b == NFTables {
		return b
	}
	if e := Backend(strings.ToLower(os.Getenv(BackendEnv))); e == IPTables || e == NFTables {
		return e
	}
	if legacyNAT(netx.V4) || legacyNAT(netx.V6) || !nftOK {
		return IPTables
	}
	return NFTables
}

// legacyNAT reports whether legacy iptables has a nat table in the
// current thread's netns.
func legacyNAT(f netx.Family) bool { return legacyTable(f, tableNAT) }

// legacyTables lists the tables legacy iptables has in the current
// thread's netns: the kernel lists those it instantiated there, without
// running iptables.
func legacyTables(f netx.Family) []string {
	name := "/proc/thread-self/net/ip_tables_names"
	if f == netx.V6 {
		name = "/proc/thread-self/net/ip6_tables_names"
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return nil
	}
	return strings.Fields(string(b))
}

// Describe renders a ruleset the way the backend's own tools list it
// (`iptables -t nat -S`, `nft list table`), for dry runs and logs.
func Describe(b Backend, rs Ruleset) []string {
	if b == IPTables {
		return iptDescribe(rs)
	}
	return nftLines(rs)
}
