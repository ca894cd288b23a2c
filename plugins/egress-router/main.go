// egress-router is the meta-plugin existing NetworkAttachmentDefinitions
// name ("type": "egress-router"). It takes their config and runs it as the
// egress chain: the upstream macvlan or ipvlan plugin with static IPAM
// (found in CNI_PATH, run through invoke), then the route and NAT steps
// in-process, from the same chain packages egress-route and egress-nat use.
package main

import (
	"runtime"

	"github.com/containernetworking/cni/pkg/skel"

	"github.com/egress-router/egress-router/chain/plugin"
)

func init() {
	// Namespace switches apply to one OS thread; keep main on it.
	runtime.LockOSThread()
}

func main() {
	plugin.Main("egress-router", skel.CNIFuncs{
		Add:    cmdAdd,
		Check:  cmdCheck,
		Del:    cmdDel,
		GC:     cmdGC,
		Status: cmdStatus,
	})
}
