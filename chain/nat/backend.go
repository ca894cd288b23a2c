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

// threadNS opens the current thread's netns, for Available's nftables
// probe.
func threadNS() (*os.File, error) { return os.Open("/proc/thread-self/ns/net") }
