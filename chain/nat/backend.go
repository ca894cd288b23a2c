package nat

import (
	"os"
	"strings"

	"github.com/egress-router/egress-router/chain/cnierr"
)

// Backends that install the NAT.
const (
	// Auto picks nftables unless the pod already uses legacy iptables NAT
	// (then iptables, so both stay in one place for whoever reads them).
	Auto     = "auto"
	IPTables = "iptables"
	NFTables = "nftables"
)

// BackendEnv, when set to iptables or nftables, replaces auto: a node-wide
// default without editing every config (and how the tests run the whole
// suite against each backend).
const BackendEnv = "EGRESS_NAT_BACKEND"

// ParseBackend validates a `backend` field; "" is auto.
func ParseBackend(field, s string) (string, error) {
	switch b := strings.ToLower(strings.TrimSpace(s)); b {
	case "", Auto:
		return Auto, nil
	case IPTables, NFTables:
		return b, nil
	}
	return "", cnierr.Config("%s %q is not a NAT backend; use iptables, nftables or auto", field, s)
}

// choose resolves auto for the pod whose netns the current thread is in;
// nftOK says whether nftables answered there.
func choose(backend string, nftOK bool) string {
	if backend != Auto && backend != "" {
		return backend
	}
	if b := strings.ToLower(os.Getenv(BackendEnv)); b == IPTables || b == NFTables {
		return b
	}
	if legacyNAT(4) || legacyNAT(6) {
		return IPTables
	}
	if !nftOK {
		return IPTables
	}
	return NFTables
}

// legacyNAT reports whether legacy iptables has a nat table in the
// current thread's netns: the kernel lists the tables it instantiated
// there, without running iptables.
func legacyNAT(f Family) bool {
	name := "/proc/thread-self/net/ip_tables_names"
	if f == 6 {
		name = "/proc/thread-self/net/ip6_tables_names"
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return false
	}
	for _, t := range strings.Fields(string(b)) {
		if t == "nat" {
			return true
		}
	}
	return false
}

// threadNS opens the current thread's netns, for nftables connections
// made from inside ns.Do.
func threadNS() (*os.File, error) { return os.Open("/proc/thread-self/ns/net") }

// iptablesInUse reports whether iptables has a nat table of the family in
// the current thread's netns: legacy (the kernel's list) or iptables-nft
// (an nftables table named nat). No process is started.
func iptablesInUse(f Family) bool {
	if legacyNAT(f) {
		return true
	}
	nsf, err := threadNS()
	if err != nil {
		return true // cannot tell: look with iptables
	}
	defer nsf.Close()
	c, err := nftConn(int(nsf.Fd()))
	if err != nil {
		return false
	}
	ok, err := tableExists(c, nftFamily(f), "nat")
	return ok || err != nil
}

// nftEgressTables reports whether nftables holds an egress attachment's
// table of the family in the current thread's netns.
func nftEgressTables(f Family) bool {
	nsf, err := threadNS()
	if err != nil {
		return false
	}
	defer nsf.Close()
	c, err := nftConn(int(nsf.Fd()))
	if err != nil {
		return false
	}
	ts, err := c.ListTablesOfFamily(nftFamily(f))
	if err != nil {
		return false
	}
	for _, t := range ts {
		if strings.HasPrefix(t.Name, nftPrefix) && t.Name != nftForwarding {
			return true
		}
	}
	return false
}
