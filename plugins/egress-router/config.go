package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/containernetworking/cni/pkg/invoke"
	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"

	"github.com/egress-router/egress-router/chain/attach"
	"github.com/egress-router/egress-router/chain/cnierr"
	"github.com/egress-router/egress-router/chain/logging"
	"github.com/egress-router/egress-router/chain/router"
)

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

func podName(cniArgs string) string { return cniArg(cniArgs, "K8S_POD_NAME") }

// load parses and validates the config for this invocation, reading the
// ipConfig ConfigMap when the config names one.
func load(args *skel.CmdArgs) (*router.NetConf, *router.Config, error) {
	n := &router.NetConf{}
	if err := cnierr.Unmarshal(args.StdinData, n); err != nil {
		return nil, nil, err
	}
	env := router.Env{IfName: args.IfName, PodName: podName(args.Args), PodNamespace: cniArg(args.Args, "K8S_POD_NAMESPACE")}
	if n.IPConfig != nil {
		data, err := readIPConfig(n, env, args.Path)
		if err != nil {
			return nil, nil, err
		}
		env.IPConfigData = data
	}
	c, err := n.Validate(env)
	if err != nil {
		return nil, nil, err
	}
	return n, c, nil
}

// ipConfigHelper reads ConfigMaps; it is found in CNI_PATH.
const ipConfigHelper = "egress-ipconfig"

// readIPConfig runs the helper for the ipConfig ConfigMap's data. Its
// errors are CNI errors already (7 for a missing or forbidden ConfigMap,
// 11 when the API server is unreachable) and pass through unchanged.
func readIPConfig(n *router.NetConf, env router.Env, cniPath string) (map[string]string, error) {
	ns, name, err := n.IPConfig.Where(env.PodNamespace)
	if err != nil {
		return nil, err
	}
	helper, err := invoke.FindInPath(ipConfigHelper, filepath.SplitList(cniPath))
	if err != nil {
		return nil, cnierr.Config("ipConfig ConfigMap %s/%s: reading it needs %s in CNI_PATH: %v", ns, name, ipConfigHelper, err)
	}
	req, _ := json.Marshal(map[string]any{"kubeconfig": n.KubeconfigPath(), "namespace": ns, "name": name, "timeoutSeconds": 10})
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, helper)
	cmd.Stdin = bytes.NewReader(req)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	runErr := cmd.Run()
	if runErr != nil {
		var te types.Error
		if json.Unmarshal(out.Bytes(), &te) == nil && te.Code != 0 {
			return nil, &te
		}
		return nil, types.NewError(types.ErrTryAgainLater, fmt.Sprintf("ipConfig ConfigMap %s/%s: %s: %v: %s", ns, name, ipConfigHelper, runErr, strings.TrimSpace(errb.String())), "")
	}
	var resp struct {
		Data map[string]string `json:"data"`
	}
	if err := json.Unmarshal(out.Bytes(), &resp); err != nil || resp.Data == nil {
		return nil, cnierr.IO("ipConfig ConfigMap %s/%s: unreadable answer from %s: %q", ns, name, ipConfigHelper, out.String())
	}
	return resp.Data, nil
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
