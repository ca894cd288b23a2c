// egress-nat is a chained CNI plugin: it installs the egress router's
// redirect NAT in the pod. Connections arriving on the cluster interface
// are DNATed to their destinations and leave the egress interface SNATed
// to the reserved source address.
package main

import (
	"github.com/egress-router/egress-router/chain/config"
	"github.com/egress-router/egress-router/chain/plugin"
)

func main() { plugin.Main(config.EgressNAT) }
