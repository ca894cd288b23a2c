package main

import (
	"encoding/json"
	"strings"

	"github.com/containernetworking/cni/pkg/skel"

	"github.com/egress-router/egress-router/chain/attach"
	"github.com/egress-router/egress-router/chain/cnierr"
	"github.com/egress-router/egress-router/chain/logging"
	"github.com/egress-router/egress-router/chain/router"
)

// podName reads K8S_POD_NAME from CNI_ARGS. It parses the pairs itself so
// that unknown keys never fail an attachment (types.LoadArgs needs
// IgnoreUnknown for that, which cnitool users rarely set).
func podName(cniArgs string) string {
	for _, kv := range strings.Split(cniArgs, ";") {
		k, v, ok := strings.Cut(kv, "=")
		if ok && strings.TrimSpace(k) == "K8S_POD_NAME" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// load parses and validates the config for this invocation.
func load(args *skel.CmdArgs) (*router.NetConf, *router.Config, error) {
	n := &router.NetConf{}
	if err := cnierr.Unmarshal(args.StdinData, n); err != nil {
		return nil, nil, err
	}
	c, err := n.Validate(router.Env{IfName: args.IfName, PodName: podName(args.Args)})
	if err != nil {
		return nil, nil, err
	}
	return n, c, nil
}

// openLog opens the configured log, falling back to warnings on stderr
// when the settings are bad (DEL must run even then).
func openLog(s logging.Settings) *logging.Logger {
	log, err := s.Open("egress-router")
	if err != nil {
		return logging.New("egress-router", s.LogFile, logging.Warning)
	}
	return log
}

// delegateBytes marshals an interface plugin config.
func delegateBytes(ic router.InterfaceConf) ([]byte, error) {
	b, err := json.Marshal(ic)
	if err != nil {
		return nil, cnierr.IO("failed to encode the %s config: %v", ic.Type, err)
	}
	return b, nil
}

// lenientDelegate is the interface plugin config for DEL, STATUS and GC,
// which must work even when the config no longer validates (it may have
// been edited since ADD): the full config when it is valid, else the
// type and IPAM only, which is all macvlan and ipvlan need to delete.
func lenientDelegate(n *router.NetConf, args *skel.CmdArgs) router.InterfaceConf {
	if c, err := n.Validate(router.Env{IfName: args.IfName, PodName: podName(args.Args)}); err == nil {
		return c.DelegateConf()
	}
	typ := strings.ToLower(strings.TrimSpace(n.InterfaceType))
	if typ != "ipvlan" {
		typ = "macvlan"
	}
	ic := router.InterfaceConf{CNIVersion: n.CNIVersion, Name: n.Name, Type: typ}
	ic.IPAM.Type = router.IPAMType
	if m, ok := n.InterfaceArgs["master"]; ok {
		ic.Master = strings.TrimSpace(string(m))
	}
	return ic
}

// egressOf finds this attachment in a result.
var egressOf = attach.FromArgs
