package plugin

import (
	"context"
	"errors"
	"io"
	"os"
	"strings"

	cnins "github.com/containernetworking/cni/pkg/ns"
	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"

	"github.com/egress-router/egress-router/chain/cnierr"
	"github.com/egress-router/egress-router/chain/config"
	"github.com/egress-router/egress-router/chain/logging"
	"github.com/egress-router/egress-router/chain/netx"
	"github.com/egress-router/egress-router/chain/plan"
	"github.com/egress-router/egress-router/chain/policy"
)

// commands answers the CNI commands for one of our plugins.
type commands struct {
	plugin config.Plugin
	// pods is the pod namespace one command opens once, with its netlink
	// socket, for every look and change (a process answers one command).
	pods *netx.Pods
}

// context names the failing step: egress-router's runner names the step
// of its chain itself; a chained plugin is its one step.
func (c commands) context(what string, err error) error {
	if c.plugin == config.EgressRouter || err == nil {
		return err
	}
	return cnierr.Prefix(what, err)
}

// load parses the config against the node and takes the pod's lock, as
// ADD and CHECK start; the caller releases the lock.
func (c commands) load(args *skel.CmdArgs) (config.Env, *config.Attachment, func(), error) {
	env, err := c.env(args)
	if err != nil {
		return env, nil, nil, err
	}
	a, err := config.Load(c.plugin, args.StdinData, env)
	if err != nil {
		return env, nil, nil, err
	}
	lk, err := c.lock(env)
	if err != nil {
		return env, nil, nil, err
	}
	return env, a, lk.unlock, nil
}

func (c commands) add(args *skel.CmdArgs) error {
	env, a, unlock, err := c.load(args)
	if err != nil {
		return err
	}
	defer unlock()
	log := c.open(env.Policy, a.Log)
	defer log.Close()
	var out plan.Outcome
	p, err := a.Plan()
	if err == nil {
		if log.Debugging() {
			log.Debugf("ADD %s %s: %s", args.ContainerID, args.IfName, p.Details())
		}
		for _, n := range p.Notes {
			log.Debugf("ADD %s %s: %s", args.ContainerID, args.IfName, n)
		}
		for _, w := range p.Warnings {
			log.Warningf("ADD %s %s: %s", args.ContainerID, args.IfName, w)
		}
		out, err = c.runner(env.Policy, log).Add(context.Background(), p)
	}
	if err != nil {
		log.Errorf("ADD %s %s: %v", args.ContainerID, args.IfName, err)
		return c.context(string(c.plugin), err)
	}
	log.Infof("ADD %s %s: %s, %d routes; %s", args.ContainerID, args.IfName, p, out.Routes, out.Timings)
	return types.PrintResult(out.Result, a.CNIVersion)
}

func (c commands) check(args *skel.CmdArgs) error {
	env, a, unlock, err := c.load(args)
	if err != nil {
		return err
	}
	defer unlock()
	p, err := a.Plan()
	if err == nil {
		err = c.runner(env.Policy, logging.Discard()).Check(context.Background(), p)
	}
	return c.context(string(c.plugin)+" check", err)
}

// delDirect answers DEL without skel: the runtime's variables as skel
// reads them (CNI_NETNS may be empty), any config.
func (c commands) delDirect(stdin io.Reader) *types.Error {
	args := &skel.CmdArgs{ContainerID: os.Getenv("CNI_CONTAINERID"), Netns: os.Getenv("CNI_NETNS"), IfName: os.Getenv("CNI_IFNAME"),
		Args: os.Getenv("CNI_ARGS"), Path: os.Getenv("CNI_PATH"), NetnsOverride: os.Getenv("CNI_NETNS_OVERRIDE")}
	var missing []string
	for _, v := range []struct{ name, val string }{{"CNI_CONTAINERID", args.ContainerID}, {"CNI_IFNAME", args.IfName}, {"CNI_PATH", args.Path}} {
		if v.val == "" {
			missing = append(missing, v.name)
		}
	}
	if len(missing) > 0 {
		return cnierr.Env("required env variables [%s] missing", strings.Join(missing, ","))
	}
	if args.Netns != "" && strings.ToUpper(args.NetnsOverride) != "TRUE" && args.NetnsOverride != "1" {
		if own, err := cnins.CheckNetNS(args.Netns); err == nil && own {
			return types.NewError(types.ErrInvalidNetNS, "plugin's netns and netns from CNI_NETNS should not be the same", "")
		}
	}
	b, err := io.ReadAll(stdin)
	if err != nil {
		return cnierr.IO("error reading from stdin: %v", err)
	}
	args.StdinData = b
	if err := c.del(args); err != nil {
		var te *types.Error
		if errors.As(err, &te) {
			return te
		}
		return types.NewError(types.ErrInternal, err.Error(), "")
	}
	return nil
}

// del undoes ADD. Its config need not parse; everything is found in the
// pod, and a missing netns means there is nothing left to undo.
func (c commands) del(args *skel.CmdArgs) error {
	// A broken policy file must not stop a teardown: the default policy
	// still keeps the logs in their folder.
	env, err := c.env(args)
	if err != nil {
		env.Policy = policy.Default()
	}
	t, logs := config.Teardown(c.plugin, args.StdinData, env)
	lk, err := c.lock(env)
	if err != nil {
		return err
	}
	// The pod's last call: its lock file goes (see podLock).
	defer lk.drop()
	log := c.open(env.Policy, logs)
	defer log.Close()
	tm, err := c.runner(env.Policy, log).Del(context.Background(), t)
	if err != nil {
		return c.context(string(c.plugin), err)
	}
	// Runtimes call DEL more than once (containerd: again with no netns);
	// the netns in the log tells which call this was.
	log.Infof("DEL %s %s (netns %q): done; %s", args.ContainerID, args.IfName, args.Netns, tm)
	return nil
}

func (c commands) status(args *skel.CmdArgs) error {
	env, err := c.env(args)
	if err != nil {
		// ADD would fail: say so.
		return cnierr.NotAvailable("%s: %v", c.plugin, err)
	}
	s, err := config.Status(c.plugin, args.StdinData, env)
	if err != nil {
		return err
	}
	return c.runner(env.Policy, logging.Discard()).Status(context.Background(), s)
}

func (c commands) gc(args *skel.CmdArgs) error {
	env, err := c.env(args)
	if err != nil {
		env.Policy = policy.Default()
	}
	d, valid, err := config.GC(c.plugin, args.StdinData, env)
	if err != nil {
		return err
	}
	// Lock files of pods whose DEL never came with a netns.
	sweepLocks(env.Policy.LockDir)
	return c.runner(env.Policy, logging.Discard()).GC(context.Background(), d, valid)
}

// env is what the runtime says, with the node's policy.
func (c commands) env(args *skel.CmdArgs) (config.Env, error) {
	env := config.EnvFrom(args)
	env.Pods = c.pods
	pol, err := policy.Load()
	if err != nil {
		return env, cnierr.Config("%v", err)
	}
	env.Policy = pol
	return env, nil
}

// lock waits for the pod's other calls (see lockPod), as long as a call
// with every child at its deadline could take.
func (c commands) lock(env config.Env) (*podLock, error) {
	return lockPod(env.Policy.LockDir, env.Netns, 4*env.Policy.ChildTimeout())
}

// runner carries out plans with children bounded by the policy.
func (c commands) runner(pol *policy.Policy, log *logging.Logger) plan.Runner {
	return plan.Runner{Exec: &plan.BoundedExec{Timeout: pol.ChildTimeout()}, Log: log, Start: start, Pods: c.pods,
		Probe: pol.AddressProbe(), Handover: pol.ChildTimeout()}
}

// open returns the configured logger. A log_file goes into the policy's
// log folder under its base name, whatever folder the config named: the
// config is a tenant's, the node is the admin's. Bad settings fall back
// to warnings on stderr (DEL must run even then).
func (c commands) open(pol *policy.Policy, s config.Logging) *logging.Logger {
	if s.LogFile != "" {
		s.LogFile = pol.LogFile(s.LogFile)
		if err := os.MkdirAll(pol.LogDir, 0o700); err != nil {
			s.LogFile = ""
		}
	}
	log, err := s.Open(string(c.plugin))
	if err != nil {
		return logging.New(string(c.plugin), s.LogFile, logging.Warning)
	}
	return log
}
