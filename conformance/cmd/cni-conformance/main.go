// cni-conformance grades a CNI plugin or conflist against the CNI spec in
// throwaway network namespaces and prints a table: check, spec section,
// PASS/FAIL/SKIP and why. It exits 1 when any check fails.
//
//	cni-conformance [flags] TARGET...
//
// A TARGET is a CNI config (.conf), a conflist, or a suite file
// {"target", "grade", "owns", "requires", "config"} (see conformance/targets).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/egress-router/egress-router/conformance"
)

func main() {
	failed, err := run(os.Args[1:], os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cni-conformance:", err)
		os.Exit(2)
	}
	if failed {
		os.Exit(1)
	}
}

type owns []conformance.Resource

func (o *owns) String() string { return fmt.Sprint(*o) }
func (o *owns) Set(v string) error {
	name, cmd, ok := strings.Cut(v, "=")
	if !ok || name == "" || cmd == "" {
		return fmt.Errorf("want NAME=COMMAND, got %q", v)
	}
	*o = append(*o, conformance.Resource{Name: name, Remove: cmd})
	return nil
}

func run(argv []string, stdout io.Writer) (failed bool, err error) {
	fs := flag.NewFlagSet("cni-conformance", flag.ContinueOnError)
	path := fs.String("path", os.Getenv("CNI_PATH"), "CNI_PATH: folders holding the plugins (default $CNI_PATH)")
	plugin := fs.String("plugin", "", "a plugin binary to grade in place of the config's type (put first in CNI_PATH)")
	grade := fs.Int("grade", -1, "in a conflist, grade plugin N (the plugins before it are set-up); -1: the whole list")
	ifName := fs.String("ifname", "", "CNI_IFNAME (default net1)")
	args := fs.String("args", "", "CNI_ARGS")
	timeout := fs.Duration("timeout", 30*time.Second, "time bound of each plugin call")
	markdown := fs.Bool("markdown", false, "print Markdown sections instead of text tables")
	version := fs.String("version", "", "grade at this cniVersion instead of the config's (plugins that stop short of it)")
	label := fs.String("label", "", "appended to each target's name in the report (e.g. which build of the plugins)")
	var own owns
	fs.Var(&own, "owns", "NAME=COMMAND: a resource the plugin owns and a shell command removing it in the pod (repeatable)")
	if err := fs.Parse(argv); err != nil {
		return false, err
	}
	if fs.NArg() == 0 {
		return false, errors.New("no target: give a config or conflist (usage: cni-conformance [flags] CONFIG...)")
	}
	cniPath := filepath.SplitList(*path)
	if *plugin != "" {
		dir, err := pluginDir(*plugin, fs.Args())
		if err != nil {
			return false, err
		}
		defer os.RemoveAll(dir)
		cniPath = append([]string{dir}, cniPath...)
	}
	for _, f := range fs.Args() {
		t, err := conformance.LoadTarget(f)
		if err != nil {
			return false, err
		}
		t.CNIPath, t.Timeout = cniPath, *timeout
		if *grade >= 0 {
			g := *grade
			t.Grade = &g
		}
		if *ifName != "" {
			t.IfName = *ifName
		}
		if *args != "" {
			t.Args = *args
		}
		t.Owns = append(t.Owns, own...)
		t.CNIVersion = *version
		if *label != "" {
			t.Name += " " + *label
		}
		rep, err := conformance.Run(t)
		if err != nil {
			return false, fmt.Errorf("%s: %w", f, err)
		}
		if *markdown {
			err = rep.WriteMarkdown(stdout)
		} else {
			err = rep.WriteText(stdout)
			fmt.Fprintln(stdout)
		}
		if err != nil {
			return false, err
		}
		failed = failed || rep.Count(conformance.Fail) > 0
	}
	return failed, nil
}

// pluginDir makes a folder where the binary answers to the type the
// targets' configs name, so any binary can be graded with any config.
func pluginDir(bin string, targets []string) (string, error) {
	abs, err := filepath.Abs(bin)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(abs); err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "cni-conformance-")
	if err != nil {
		return "", err
	}
	names := map[string]bool{filepath.Base(abs): true}
	for _, f := range targets {
		t, err := conformance.LoadTarget(f)
		if err != nil {
			return "", err
		}
		if typ := conformance.GradedType(t); typ != "" {
			names[typ] = true
		}
	}
	for n := range names {
		if err := os.Symlink(abs, filepath.Join(dir, n)); err != nil {
			os.RemoveAll(dir)
			return "", err
		}
	}
	return dir, nil
}
