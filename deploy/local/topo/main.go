// topo builds or removes the demo's network of namespaces (see
// chain/nstest): topo up PREFIX | topo down PREFIX.
package main

import (
	"fmt"
	"os"

	"github.com/egress-router/egress-router/chain/nstest"
)

func main() {
	if len(os.Args) != 3 || (os.Args[1] != "up" && os.Args[1] != "down") {
		fmt.Fprintln(os.Stderr, "usage: topo up|down PREFIX")
		os.Exit(2)
	}
	p := os.Args[2]
	t := &nstest.Topology{Prefix: p, Node: p + "node", Ext: p + "ext", Far: p + "far", Router: p + "router", Client: p + "client"}
	var err error
	if os.Args[1] == "up" {
		t, err = nstest.Up(p)
	} else {
		err = t.Down()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "topo:", err)
		os.Exit(1)
	}
}
