package config

import (
	"strings"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/plugins/pkg/netlinksafe"

	"github.com/egress-router/egress-router/chain/netx"
	"github.com/egress-router/egress-router/chain/plan"
	"github.com/egress-router/egress-router/chain/policy"
)

// Env is what the runtime and the node's admin say besides the config:
// trusted, unlike the config itself.
type Env struct {
	ContainerID string // CNI_CONTAINERID
	Netns       string // CNI_NETNS
	IfName      string // CNI_IFNAME
	Path        string // CNI_PATH
	// PodName and PodNamespace are K8S_POD_NAME and K8S_POD_NAMESPACE
	// from CNI_ARGS: podIP's entry and ipConfig's default namespace.
	PodName, PodNamespace string
	// IPConfigData is the ipConfig ConfigMap's data when the caller has it
	// already (egress-chain -configmap-data, tests); nil makes Load read
	// it through the egress-ipconfig helper.
	IPConfigData map[string]string
	// Policy is the node's policy; nil is the default policy.
	Policy *policy.Policy
	// Pods shares the command's opened pod namespaces with the runner;
	// nil opens the pod for each look and closes it again.
	Pods *netx.Pods
}

// podNetlink runs f with the pod's netlink handle, the command's shared
// one when it keeps its pods (Pods).
func (e Env) podNetlink(f func(netlinksafe.Handle) error) error {
	return e.Pods.Netlink(e.Netns, false, f)
}

// policy is the node's policy, the default one when none was loaded.
func (e Env) policy() *policy.Policy {
	if e.Policy == nil {
		return policy.Default()
	}
	return e.Policy
}

// EnvFrom takes the runtime's values from skel's arguments.
func EnvFrom(args *skel.CmdArgs) Env {
	return Env{ContainerID: args.ContainerID, Netns: args.Netns, IfName: args.IfName, Path: args.Path,
		PodName: cniArg(args.Args, "K8S_POD_NAME"), PodNamespace: cniArg(args.Args, "K8S_POD_NAMESPACE")}
}

// Pod is the attachment the runtime names.
func (e Env) Pod() plan.Pod {
	return plan.Pod{ContainerID: e.ContainerID, Netns: e.Netns, IfName: e.IfName}
}

// cniArg reads a key from CNI_ARGS. It parses the pairs itself so that
// unknown keys never fail an attachment (types.LoadArgs needs
// IgnoreUnknown for that, which cnitool users rarely set).
func cniArg(cniArgs, key string) string {
	for _, kv := range strings.Split(cniArgs, ";") {
		k, v, ok := strings.Cut(kv, "=")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
