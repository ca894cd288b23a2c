// egress-nat is a chained CNI plugin: it installs the egress router's
// redirect NAT in the pod. Connections arriving on the cluster interface
// are DNATed to their destinations and leave the egress interface SNATed
// to the reserved source address.
package main

import (
	"runtime"
	"strings"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"

	"github.com/egress-router/egress-router/chain/attach"
	"github.com/egress-router/egress-router/chain/cnierr"
	"github.com/egress-router/egress-router/chain/logging"
	"github.com/egress-router/egress-router/chain/nat"
	"github.com/egress-router/egress-router/chain/plugin"
)

func init() {
	// Namespace switches apply to one OS thread; keep main on it.
	runtime.LockOSThread()
}

// rulesets builds this attachment's NAT from the config and prevResult.
func rulesets(args *skel.CmdArgs) (*NetConf, *current.Result, []nat.Ruleset, error) {
	conf, p, err := parseConfig(args.StdinData)
	if err != nil {
		return nil, nil, nil, err
	}
	prev, err := attach.PrevResult(&conf.NetConf)
	if err != nil {
		return nil, nil, nil, err
	}
	eg, err := attach.FromArgs(prev, args)
	if err != nil {
		return nil, nil, nil, err
	}
	spec, err := p.Spec(eg)
	if err != nil {
		return nil, nil, nil, err
	}
	sets, err := nat.Build(spec)
	if err != nil {
		return nil, nil, nil, err
	}
	return conf, prev, sets, nil
}

func cmdAdd(args *skel.CmdArgs) error {
	conf, res, sets, err := rulesets(args)
	if err != nil {
		return err
	}
	log, _ := conf.Open("egress-nat")
	defer log.Close()
	used, err := nat.Add(args.Netns, sets, conf.Backend)
	if err != nil {
		log.Errorf("ADD %s %s: %v", args.ContainerID, args.IfName, err)
		return cnierr.Prefix("egress-nat", err)
	}
	for _, rs := range sets {
		lines := rs.Lines()
		if used == nat.NFTables {
			lines = rs.NFTLines()
		}
		log.Debugf("ADD %s %s: IPv%d rules (%s):\n%s", args.ContainerID, args.IfName, rs.Family, used, strings.Join(lines, "\n"))
	}
	log.Infof("ADD %s %s: NAT installed with %s", args.ContainerID, args.IfName, used)
	return types.PrintResult(res, conf.CNIVersion)
}

func cmdCheck(args *skel.CmdArgs) error {
	conf, _, sets, err := rulesets(args)
	if err != nil {
		return err
	}
	return cnierr.Prefix("egress-nat check", nat.CheckIn(args.Netns, sets, conf.Backend))
}

func cmdDel(args *skel.CmdArgs) error {
	// DEL must clean up even if the config no longer validates (it may
	// have been edited since ADD): only the JSON must decode.
	conf := &NetConf{}
	if err := cnierr.Unmarshal(args.StdinData, conf); err != nil {
		return err
	}
	log, err := conf.Open("egress-nat")
	if err != nil {
		log = logging.New("egress-nat", conf.LogFile, logging.Warning)
	}
	defer log.Close()
	// The chains are named after CNI_IFNAME: DEL needs no prevResult.
	if err := nat.Del(args.Netns, args.IfName); err != nil {
		log.Errorf("DEL %s %s: %v", args.ContainerID, args.IfName, err)
		return cnierr.Prefix("egress-nat", err)
	}
	log.Infof("DEL %s %s (netns %q): done", args.ContainerID, args.IfName, args.Netns)
	return nil
}

func cmdStatus(args *skel.CmdArgs) error {
	conf, _, err := parseConfig(args.StdinData)
	if err != nil {
		return err
	}
	if _, err := nat.Available(conf.Backend); err != nil {
		return types.NewError(types.ErrPluginNotAvailable, "egress-nat: "+err.Error(), "")
	}
	return nil
}

func main() {
	plugin.Main("egress-nat", skel.CNIFuncs{
		Add:   cmdAdd,
		Check: cmdCheck,
		Del:   cmdDel,
		// All state lives in the pod's netns and goes with it: nothing to GC.
		GC:     func(*skel.CmdArgs) error { return nil },
		Status: cmdStatus,
	})
}
