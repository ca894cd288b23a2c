// topo builds or removes the demo's network of namespaces (see
// chain/testnet): topo up PREFIX | topo down PREFIX.
package main

import (
	"fmt"
	"os"

	"github.com/egress-router/egress-router/chain/testnet"
)

func main() {
	if len(os.Args) != 3 || (os.Args[1] != "up" && os.Args[1] != "down") {
		fmt.Fprintln(os.Stderr, "usage: topo up|down PREFIX")
		os.Exit(2)
	}
	var err error
	if os.Args[1] == "up" {
		_, err = testnet.Up(os.Args[2])
	} else {
		err = testnet.Named(os.Args[2]).Down()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "topo:", err)
		os.Exit(1)
	}
}
