package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/egress-router/egress-router/chain/policy"
)

// Our plugins log where each ADD's and DEL's time went, from the moment
// their Go code starts ("31.1 ms since start (checks 2.3 ms, macvlan
// 22.4 ms, …)"). The bench gives each form a log file of its own and
// reads these lines back: the in-process work is what is left once the
// interface plugin's step (a process of its own) is taken out. What comes
// before Go code runs (exec, the runtime's start) is measured apart, as
// the process start of egress-router answering VERSION.

// logSetup points our plugins' logs into dir, through a node policy of
// the bench's own (the plugins read its path from the environment libcni
// passes on).
func logSetup(dir string) error {
	pol := filepath.Join(dir, "policy.json")
	b, _ := json.Marshal(map[string]any{"logDir": filepath.Join(dir, "log"), "lockDir": filepath.Join(dir, "lock")})
	if err := os.WriteFile(pol, b, 0o644); err != nil {
		return err
	}
	return os.Setenv(policy.PathEnv, pol)
}

// logged sets a plugin config's log file (one per form) at info level.
func logged(conf map[string]any, file string) map[string]any {
	conf["log_file"], conf["log_level"] = file, "info"
	return conf
}

// timedLine matches a finished ADD or DEL of ours: the plugin, the
// command and the step list.
var timedLine = regexp.MustCompile(`\] (egress-[a-z]+): (ADD|DEL) .*; ([0-9.]+) ms since start \(([^)]*)\)(?:; cpu ([0-9.]+) ms)?$`)

// notOurs are the steps that are not our Go code at work: the interface
// plugins run in a process of their own, and the address probe listens
// on the segment for the policy's window (addressProbeMillis).
var notOurs = map[string]bool{"macvlan": true, "ipvlan": true, "probe": true}

// callWork is one call's in-process work: the steps of ours, by name.
type callWork struct {
	plugin, cmd string
	names       []string           // steps in the order they ran
	steps       map[string]float64 // ms
	ours        float64            // ms: total minus the notOurs steps
	// cpu is the process's CPU time, ms (its Go runtime's start
	// included); 0 from a plugin that does not log it.
	cpu float64
}

// readWork parses a form's log file.
func readWork(path string) ([]callWork, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []callWork
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := timedLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		total, _ := strconv.ParseFloat(m[3], 64)
		cw := callWork{plugin: m[1], cmd: m[2], steps: map[string]float64{}, ours: total}
		cw.cpu, _ = strconv.ParseFloat(m[5], 64)
		for _, s := range strings.Split(m[4], ", ") {
			i := strings.LastIndex(s, " ")
			j := strings.LastIndex(s[:max(i, 0)], " ")
			if i < 0 || j < 0 {
				continue
			}
			v, err := strconv.ParseFloat(s[j+1:i], 64)
			if err != nil {
				continue
			}
			// "nat nftables 2.4 ms" is the step "nat"; a step that ran
			// beside the others ("nat nftables beside 2.4 ms", see
			// chain/plan) is "nat beside", off the critical path: its time
			// lies within the steps it ran beside.
			name := s[:j]
			switch {
			case strings.HasSuffix(name, " beside"):
				name = strings.Fields(name)[0] + " beside"
			case strings.HasPrefix(name, "nat ") && name != "nat wait":
				name = "nat"
			}
			if _, ok := cw.steps[name]; !ok {
				cw.names = append(cw.names, name)
			}
			cw.steps[name] += v
			if notOurs[name] {
				cw.ours -= v
			}
		}
		out = append(out, cw)
	}
	return out, sc.Err()
}

// processStart times egress-router answering VERSION: exec, the Go
// runtime's start and package init, a few microseconds of work.
func processStart(bin string) (time.Duration, error) {
	cmd := exec.CommandContext(context.Background(), filepath.Join(bin, "egress-router"))
	cmd.Env = append(os.Environ(), "CNI_COMMAND=VERSION")
	cmd.Stdin = strings.NewReader(`{"cniVersion": "1.1.0"}`)
	t0 := time.Now()
	err := cmd.Run()
	return time.Since(t0), err
}

// printWork prints, per form and command, the median in-process work of
// each plugin of ours and its steps (the first call of each, the warm-up,
// left out), beside the process start.
func printWork(w io.Writer, fs []form, logDir string, start []time.Duration) error {
	fmt.Fprintf(w, "\nin-process work per call, median (Go code only: process start and the interface plugin left out; a step \"beside\" ran\n"+
		"while the probe and the interface plugin did and is not in \"ours\"; cpu is the whole process's CPU time, its start included);\n"+
		"egress-router's process start (exec to exit, answering VERSION): median %s\n", ms(median(start)))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "form\tdestinations\tcommand\tplugin\tours\tcpu\tsteps\t")
	for _, f := range fs {
		if f.log == "" {
			continue
		}
		calls, err := readWork(filepath.Join(logDir, f.log))
		if err != nil {
			return err
		}
		for _, cmd := range []string{"ADD", "DEL"} {
			for _, plugin := range []string{"egress-router", "egress-route", "egress-nat"} {
				var ours, cpu []time.Duration
				steps := map[string][]time.Duration{}
				var order []string
				for _, c := range timed(calls, cmd, plugin) {
					ours = append(ours, msDur(c.ours))
					cpu = append(cpu, msDur(c.cpu))
					for _, name := range c.names {
						if _, ok := steps[name]; !ok {
							order = append(order, name)
						}
						steps[name] = append(steps[name], msDur(c.steps[name]))
					}
				}
				if len(ours) == 0 {
					continue
				}
				var parts []string
				for _, name := range order {
					parts = append(parts, fmt.Sprintf("%s %s", name, ms(median(steps[name]))))
				}
				fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t\n", f.name, f.dests, cmd, plugin, ms(median(ours)), ms(median(cpu)), strings.Join(parts, ", "))
			}
		}
	}
	return tw.Flush()
}

func msDur(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }

// timed is a form's calls of one command and plugin, the first (the
// warm-up) left out.
func timed(calls []callWork, cmd, plugin string) []callWork {
	var out []callWork
	for _, c := range calls {
		if c.cmd == cmd && c.plugin == plugin {
			out = append(out, c)
		}
	}
	if len(out) > 0 {
		out = out[1:]
	}
	return out
}

// work is all of a call's in-process work: its critical path and the
// steps that ran beside it.
func (c callWork) work() float64 {
	w := c.ours
	for name, v := range c.steps {
		if strings.HasSuffix(name, " beside") {
			w += v
		}
	}
	return w
}

// printBackends sets the single plugin's in-process work under iptables
// beside the same form under the default backend, from the same cycles.
// Both are counted with the NAT step that runs beside the interface
// plugin: that step is where the backends differ.
func printBackends(w io.Writer, fs []form, logDir string) error {
	work := map[string]map[string]time.Duration{} // form name/dests -> command -> median work
	for _, f := range fs {
		if f.name != "egress-router" && f.name != iptForm {
			continue
		}
		calls, err := readWork(filepath.Join(logDir, f.log))
		if err != nil {
			return err
		}
		key := fmt.Sprintf("%s/%d", f.name, f.dests)
		work[key] = map[string]time.Duration{}
		for _, cmd := range []string{"ADD", "DEL"} {
			var all []time.Duration
			for _, c := range timed(calls, cmd, "egress-router") {
				all = append(all, msDur(c.work()))
			}
			work[key][cmd] = median(all)
		}
	}
	for _, f := range fs {
		if f.name != iptForm {
			continue
		}
		ipt, def := work[fmt.Sprintf("%s/%d", iptForm, f.dests)], work[fmt.Sprintf("egress-router/%d", f.dests)]
		if def == nil {
			continue
		}
		fmt.Fprintf(w, "egress-router, %d destinations, in-process work with the NAT step beside, iptables against the default backend (same cycles): ADD %s against %s (%.2fx), DEL %s against %s (%.2fx)\n",
			f.dests, ms(ipt["ADD"]), ms(def["ADD"]), ratio(ipt["ADD"], def["ADD"]), ms(ipt["DEL"]), ms(def["DEL"]), ratio(ipt["DEL"], def["DEL"]))
	}
	return nil
}
