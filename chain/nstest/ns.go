package nstest

import (
	"github.com/containernetworking/plugins/pkg/ns"

	"github.com/egress-router/egress-router/chain/nsutil"
)

// Path returns a namespace's bind-mount path (see nsutil.Path).
func Path(name string) string { return nsutil.Path(name) }

// NS opens a namespace of the test network, or one given by path; the
// caller closes it.
func NS(name string) (ns.NetNS, error) { return ns.GetNS(Path(name)) }
