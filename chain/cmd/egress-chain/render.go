package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/egress-router/egress-router/chain/egressrouter"
)

// render prints the NAD, Deployment and Service for an EgressRouter
// resource, as the Cluster Network Operator would on OpenShift.
func render(argv []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("render", flag.ContinueOnError)
	namespace := fs.String("namespace", "", "the namespace of every object (default: the resource's, else default)")
	image := fs.String("image", egressrouter.DefaultImage, "the router pod's container image")
	if err := fs.Parse(argv); err != nil {
		return err
	}
	data, err := readInput(fs.Arg(0), stdin)
	if err != nil {
		return err
	}
	ers, err := egressrouter.ParseAll(data)
	if err != nil {
		return err
	}
	for i, er := range ers {
		objs, err := egressrouter.Render(er, egressrouter.Options{Namespace: *namespace, Image: *image})
		if err != nil {
			return fmt.Errorf("EgressRouter %s: %w", er.Name, err)
		}
		y, err := objs.YAML()
		if err != nil {
			return err
		}
		if i > 0 {
			fmt.Fprintln(stdout, "---")
		}
		if _, err := stdout.Write(y); err != nil {
			return err
		}
	}
	return nil
}
