// egress-route is a chained CNI plugin: it makes the interface created by
// the previous plugin (macvlan or ipvlan) the pod's default route, while
// cluster, service and master-host traffic stays on the cluster interface.
package main

import (
	"runtime"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"

	"github.com/egress-router/egress-router/chain/attach"
	"github.com/egress-router/egress-router/chain/cnierr"
	"github.com/egress-router/egress-router/chain/logging"
	"github.com/egress-router/egress-router/chain/plugin"
	"github.com/egress-router/egress-router/chain/route"
)

func init() {
	// Namespace switches apply to one OS thread; keep main on it.
	runtime.LockOSThread()
}

func cmdAdd(args *skel.CmdArgs) error {
	conf, cfg, err := parseConfig(args.StdinData)
	if err != nil {
		return err
	}
	log, _ := conf.Open("egress-route")
	defer log.Close()
	prev, err := attach.PrevResult(&conf.NetConf)
	if err != nil {
		return err
	}
	eg, err := attach.FromArgs(prev, args)
	if err != nil {
		return err
	}
	added, err := route.Add(args.Netns, cfg, eg)
	if err != nil {
		log.Errorf("ADD %s %s: %v", args.ContainerID, args.IfName, err)
		return cnierr.Prefix("egress-route", err)
	}
	log.Infof("ADD %s %s: added %d routes", args.ContainerID, args.IfName, len(added))
	prev.Routes = append(prev.Routes, added...)
	return types.PrintResult(prev, conf.CNIVersion)
}

func cmdCheck(args *skel.CmdArgs) error {
	conf, cfg, err := parseConfig(args.StdinData)
	if err != nil {
		return err
	}
	prev, err := attach.PrevResult(&conf.NetConf)
	if err != nil {
		return err
	}
	eg, err := attach.FromArgs(prev, args)
	if err != nil {
		return err
	}
	return cnierr.Prefix("egress-route check", route.Check(args.Netns, cfg, eg))
}

func cmdDel(args *skel.CmdArgs) error {
	// DEL must clean up even if the config no longer validates (it may
	// have been edited since ADD): only the JSON must decode.
	conf := &NetConf{}
	if err := cnierr.Unmarshal(args.StdinData, conf); err != nil {
		return err
	}
	log, err := conf.Open("egress-route")
	if err != nil {
		log = logging.New("egress-route", conf.LogFile, logging.Warning)
	}
	defer log.Close()
	// Our routes carry route.Protocol, so DEL needs neither prevResult nor
	// the config's networks to find them.
	if err := route.Del(args.Netns); err != nil {
		log.Errorf("DEL %s %s: %v", args.ContainerID, args.IfName, err)
		return cnierr.Prefix("egress-route", err)
	}
	log.Infof("DEL %s %s (netns %q): done", args.ContainerID, args.IfName, args.Netns)
	return nil
}

func main() {
	plugin.Main("egress-route", skel.CNIFuncs{
		Add:   cmdAdd,
		Check: cmdCheck,
		Del:   cmdDel,
		// All state lives in the pod's netns and goes with it: nothing to GC.
		GC:     func(*skel.CmdArgs) error { return nil },
		Status: func(*skel.CmdArgs) error { return nil },
	})
}
