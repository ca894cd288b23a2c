// egress-router is the meta-plugin existing NetworkAttachmentDefinitions
// name ("type": "egress-router"). It takes their config and runs it as the
// egress chain: the upstream macvlan or ipvlan plugin with static IPAM
// (found in CNI_PATH, run through invoke), then the route and NAT steps
// in-process, from the same chain packages egress-route and egress-nat use.
package main

import (
	"github.com/egress-router/egress-router/chain/config"
	"github.com/egress-router/egress-router/chain/plugin"
)

func main() { plugin.Main(config.EgressRouter) }
