// egress-chain shows what an egress-router config means without touching
// anything: the equivalent conflist, a NetworkAttachmentDefinition, or a
// dry run listing the routes and NAT rules ADD would install (the legacy
// router's print-rules mode, for reviewing a config).
//
//	egress-chain conflist [flags] [FILE]
//	egress-chain nad [-form conflist|single] [-namespace NS] [-name NAME] [flags] [FILE]
//	egress-chain dry-run [flags] [FILE]
//	egress-chain policy [FILE]
//	egress-chain render [-namespace NS] [-image IMAGE] [FILE]
//
// For an ipConfig config, -configmap-data names a file with the
// ConfigMap's data, so the overrides can be reviewed without the API.
//
// The config is read from FILE or stdin: an egress-router config, or a
// NetworkAttachmentDefinition (YAML or JSON) holding one. It is checked
// against the node's policy (-policy names another file) as the plugin
// would check it for a pod of -pod-namespace. Master and gateway
// inference look at the host's links and routes (read only);
// -resolve=false skips that. policy validates a policy file (default: the
// node's) and prints it with its defaults filled in. render reads an
// OpenShift EgressRouter resource instead and prints the NAD, Deployment
// and Service the Cluster Network Operator would make from it, on any
// Kubernetes (chain/egressrouter).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	nadv1 "github.com/k8snetworkplumbingwg/network-attachment-definition-client/pkg/apis/k8s.cni.cncf.io/v1"
	"sigs.k8s.io/yaml"

	"github.com/egress-router/egress-router/chain/config"
	"github.com/egress-router/egress-router/chain/nad"
	"github.com/egress-router/egress-router/chain/policy"
)

const usage = `usage: egress-chain conflist|nad|dry-run|policy|render [flags] [FILE]

  conflist  print the equivalent conflist (interface plugin + static, egress-route, egress-nat)
  nad       print a NetworkAttachmentDefinition (-form conflist|single)
  dry-run   print the interface config, routes and NAT rules ADD would install
  policy    check a node policy file (default: this node's) and print it with its defaults
  render    read an EgressRouter resource (network.operator.openshift.io/v1) and print its NAD,
            router Deployment and Service, named after it (-namespace NS, -image IMAGE)

The egress-router config, or a NetworkAttachmentDefinition holding one, is read from FILE,
or stdin when FILE is absent or "-". It is checked against the node's policy (-policy FILE
for another) as for a pod of -pod-namespace.`

func main() {
	if err := run(os.Args[1:], os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "egress-chain:", err)
		os.Exit(1)
	}
}

// usageError prints the usage text, which ends as prose does.
type usageError struct{}

func (usageError) Error() string { return usage }

func run(argv []string, stdin io.Reader, stdout io.Writer) error {
	if len(argv) == 0 || argv[0] == "-h" || argv[0] == "help" || argv[0] == "--help" {
		return usageError{}
	}
	cmd := argv[0]
	switch cmd {
	case "conflist", "nad", "dry-run":
	case "policy":
		return checkPolicy(argv[1:], stdout)
	case "render":
		return render(argv[1:], stdin, stdout)
	default:
		return fmt.Errorf("unknown command %q\n%w", cmd, usageError{})
	}
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	pod := fs.String("pod", "", "pod name choosing the podIP entry (K8S_POD_NAME)")
	ifName := fs.String("ifname", "net1", "interface name in the pod (CNI_IFNAME)")
	resolve := fs.Bool("resolve", true, "infer master and gateway from this host's links and routes")
	form := fs.String("form", "conflist", "nad: the form of spec.config, conflist or single")
	namespace := fs.String("namespace", "", "nad: metadata.namespace")
	name := fs.String("name", "", "nad: metadata.name (default: the network name)")
	cmData := fs.String("configmap-data", "", "ipConfig: a file with the ConfigMap's data as JSON (kubectl get configmap NAME -o jsonpath='{.data}')")
	podNS := fs.String("pod-namespace", "", "the pod's namespace (K8S_POD_NAMESPACE), for the policy and ipConfig")
	polFile := fs.String("policy", "", "a policy file to check against instead of the node's")
	if err := fs.Parse(argv[1:]); err != nil {
		return err
	}
	data, err := readInput(fs.Arg(0), stdin)
	if err != nil {
		return err
	}
	if data, err = fromNAD(data); err != nil {
		return err
	}
	pol, err := loadPolicy(*polFile)
	if err != nil {
		return err
	}
	env := config.Env{IfName: *ifName, PodName: *pod, PodNamespace: *podNS, Policy: pol}
	if *cmData != "" {
		b, err := os.ReadFile(*cmData)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, &env.IPConfigData); err != nil {
			return fmt.Errorf("-configmap-data %s: want a JSON object of strings: %w", *cmData, err)
		}
	}
	c, err := config.ParseRouter(data, env)
	if err != nil {
		return err
	}
	if *resolve {
		if err := c.Resolve(); err != nil {
			return fmt.Errorf("%w (run on the node, or pass -resolve=false)", err)
		}
	}
	switch cmd {
	case "conflist":
		return printJSON(stdout, c.Conflist())
	case "nad":
		n, err := nad.Render(c, *namespace, *name, nad.Form(strings.ToLower(*form)))
		if err != nil {
			return err
		}
		return printJSON(stdout, n)
	case "dry-run":
		return c.DryRun(stdout)
	}
	return nil
}

func printJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// loadPolicy reads the policy file named, else the node's.
func loadPolicy(file string) (*policy.Policy, error) {
	if file == "" {
		return policy.Load()
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	p, err := policy.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("policy %s: %w", file, err)
	}
	p.Source = "the policy " + file
	return p, nil
}

// checkPolicy validates a policy file and prints it with its defaults.
func checkPolicy(argv []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("policy", flag.ContinueOnError)
	if err := fs.Parse(argv); err != nil {
		return err
	}
	p, err := loadPolicy(fs.Arg(0))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "# %s: valid\n", p.Source)
	return printJSON(stdout, p)
}

// fromNAD returns the CNI config of a NetworkAttachmentDefinition (YAML
// or JSON), or data unchanged when it is not one.
func fromNAD(data []byte) ([]byte, error) {
	var n nadv1.NetworkAttachmentDefinition
	if err := yaml.Unmarshal(data, &n); err != nil || n.Kind != "NetworkAttachmentDefinition" {
		return data, nil
	}
	cfg := []byte(n.Spec.Config)
	var probe struct {
		Plugins json.RawMessage `json:"plugins"`
	}
	if json.Unmarshal(cfg, &probe) == nil && probe.Plugins != nil {
		return nil, fmt.Errorf("NetworkAttachmentDefinition %s/%s holds a conflist; these commands take an egress-router config", n.Namespace, n.Name)
	}
	return cfg, nil
}

// readInput reads FILE, or stdin when it is "" or "-".
func readInput(file string, stdin io.Reader) ([]byte, error) {
	if file == "" || file == "-" {
		return io.ReadAll(stdin)
	}
	return os.ReadFile(file)
}
