package plugin

import (
	"context"
	"os"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"

	"github.com/egress-router/egress-router/chain/cnierr"
	"github.com/egress-router/egress-router/chain/config"
	"github.com/egress-router/egress-router/chain/logging"
	"github.com/egress-router/egress-router/chain/plan"
	"github.com/egress-router/egress-router/chain/policy"
)

// commands answers the CNI commands for one of our plugins.
type commands struct {
	plugin config.Plugin
}

// context names the failing step: egress-router's runner names the step
// of its chain itself; a chained plugin is its one step.
func (c commands) context(what string, err error) error {
	if c.plugin == config.EgressRouter || err == nil {
		return err
	}
	return cnierr.Prefix(what, err)
}

func (c commands) add(args *skel.CmdArgs) error {
	env, err := c.env(args)
	if err != nil {
		return err
	}
	a, err := config.Load(c.plugin, args.StdinData, env)
	if err != nil {
		return err
	}
	log := c.open(env.Policy, a.Log)
	defer log.Close()
	var out plan.Outcome
	p, err := a.Plan()
	if err == nil {
		log.Debugf("ADD %s %s: %s", args.ContainerID, args.IfName, p.Details())
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
	env, err := c.env(args)
	if err != nil {
		return err
	}
	a, err := config.Load(c.plugin, args.StdinData, env)
	if err != nil {
		return err
	}
	p, err := a.Plan()
	if err == nil {
		err = c.runner(env.Policy, logging.Discard()).Check(context.Background(), p)
	}
	return c.context(string(c.plugin)+" check", err)
}

// del undoes ADD. Its config need not validate; everything is found in
// the pod, and a missing netns means there is nothing left to undo.
func (c commands) del(args *skel.CmdArgs) error {
	// A broken policy file must not stop a teardown: the default policy
	// still keeps the logs in their folder.
	env, err := c.env(args)
	if err != nil {
		env.Policy = policy.Default()
	}
	t, logs, err := config.Teardown(c.plugin, args.StdinData, env)
	if err != nil {
		return err
	}
	log := c.open(env.Policy, logs)
	defer log.Close()
	if err := c.runner(env.Policy, log).Del(context.Background(), t); err != nil {
		return c.context(string(c.plugin), err)
	}
	// Runtimes call DEL more than once (containerd: again with no netns);
	// the netns in the log tells which call this was.
	log.Infof("DEL %s %s (netns %q): done", args.ContainerID, args.IfName, args.Netns)
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
	return c.runner(env.Policy, logging.Discard()).GC(context.Background(), d, valid)
}

// env is what the runtime says, with the node's policy.
func (c commands) env(args *skel.CmdArgs) (config.Env, error) {
	env := config.EnvFrom(args)
	pol, err := policy.Load()
	if err != nil {
		return env, cnierr.Config("%v", err)
	}
	env.Policy = pol
	return env, nil
}

// runner carries out plans with children bounded by the policy.
func (c commands) runner(pol *policy.Policy, log *logging.Logger) plan.Runner {
	return plan.Runner{Exec: &plan.BoundedExec{Timeout: pol.ChildTimeout()}, Log: log, Start: start}
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
