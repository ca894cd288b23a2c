// egress-route is a chained CNI plugin: it makes the interface created by
// the previous plugin (macvlan or ipvlan) the pod's default route, while
// cluster, service and master-host traffic stays on the cluster interface.
package main

import (
	"github.com/egress-router/egress-router/chain/config"
	"github.com/egress-router/egress-router/chain/plugin"
)

func main() { plugin.Main(config.EgressRoute) }
