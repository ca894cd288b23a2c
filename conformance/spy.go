package conformance

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
)

// spy stands in front of every plugin in CNI_PATH: a plugin that
// delegates (to its IPAM plugin, say) finds the spy's wrapper first,
// which records the call (its parent, environment and stdin), echoes a
// marker on stderr and runs the real plugin. The suite itself runs the
// graded plugins by their own paths, so only delegated calls are seen.
//
// Each call the suite makes gets a folder of its own, calls/N, whose
// bin is a link to the shared wrappers and comes first in that call's
// CNI_PATH. A wrapper writes its record beside the folder it was found
// in, so what a call's plugin (and its delegates in turn) ran is
// attributed to that call alone, even when other calls run at the same
// time (concurrent/containers). CNI_PATH is what a plugin must pass on
// to its delegates anyway (delegate/same-env), and a delegation that
// does not go through it is one the spy cannot see at all.
type spy struct {
	dir   string // bin/ holds the wrappers, calls/N/ one call's records
	calls atomic.Int64
}

// spyMark is what every wrapper prints on stderr, for delegate/stderr.
const spyMark = "cnc-spy: "

// delegation is one call a plugin made to another through CNI_PATH.
type delegation struct {
	typ    string
	parent string // the caller's executable
	env    map[string]string
	stdin  []byte
	stdout []byte // what it printed, when it ran to the end
	ok     bool   // it exited 0
}

func newSpy(path []string) (*spy, error) {
	dir, err := os.MkdirTemp("", "cnc-spy-")
	if err != nil {
		return nil, fmt.Errorf("spy dir: %w", err)
	}
	sp := &spy{dir: dir}
	for _, d := range []string{sp.bin(), filepath.Join(dir, "calls")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			sp.close()
			return nil, fmt.Errorf("spy dir: %w", err)
		}
	}
	seen := map[string]bool{}
	for _, d := range path {
		entries, _ := os.ReadDir(d)
		for _, e := range entries {
			real := filepath.Join(d, e.Name())
			st, err := os.Stat(real)
			if seen[e.Name()] || err != nil || st.IsDir() || st.Mode()&0o111 == 0 || strings.ContainsAny(e.Name()+real, "'\n") {
				continue
			}
			seen[e.Name()] = true
			if err := os.WriteFile(filepath.Join(sp.bin(), e.Name()), []byte(sp.wrapper(e.Name(), real)), 0o755); err != nil {
				sp.close()
				return nil, fmt.Errorf("spy for %s: %w", real, err)
			}
		}
	}
	return sp, nil
}

func (sp *spy) bin() string { return filepath.Join(sp.dir, "bin") }

// wrapper is the script standing in for plugin name. Its records go to
// the log folder beside the bin folder it was run from (calls/N/bin:
// calls/N/log); without one (a call's folder gone, say) it runs the
// plugin unrecorded rather than change what the plugin does. A file
// fail-COMMAND in the spy's folder makes it fail that command without
// running the plugin (delegate/del-after-failure).
func (sp *spy) wrapper(name, real string) string {
	return fmt.Sprintf(`#!/bin/sh
f=$(mktemp "${0%%/bin/*}/log/call.XXXXXXXX" 2>/dev/null) || exec '%[4]s' "$@"
readlink "/proc/$PPID/exe" > "$f.parent"
env | grep '^CNI_' > "$f.env"
cat > "$f.in"
echo '%[2]s' > "$f"
echo "%[3]s%[2]s $CNI_COMMAND" >&2
if [ -e '%[1]s/fail-'"$CNI_COMMAND" ]; then
  printf '{"code": 11, "msg": "%[3]s%[2]s fails $CNI_COMMAND on purpose"}\n'
  exit 1
fi
# the delegate's result too (delegate/ipam-result), then its exit status
'%[4]s' "$@" < "$f.in" > "$f.out"
rc=$?
cat "$f.out"
echo "$rc" > "$f.rc"
exit "$rc"
`, sp.dir, name, spyMark, real)
}

// spyCall is the spy's folder for one call.
type spyCall struct{ dir string }

// open makes the folder of a new call: its bin, to put first in the
// call's CNI_PATH, and the log its delegations are recorded in.
func (sp *spy) open() (*spyCall, error) {
	c := &spyCall{dir: filepath.Join(sp.dir, "calls", strconv.FormatInt(sp.calls.Add(1), 10))}
	if err := os.MkdirAll(c.log(), 0o755); err != nil {
		return nil, fmt.Errorf("spy call folder: %w", err)
	}
	if err := os.Symlink(sp.bin(), c.bin()); err != nil {
		return nil, fmt.Errorf("spy call folder: %w", err)
	}
	return c, nil
}

func (c *spyCall) bin() string { return filepath.Join(c.dir, "bin") }
func (c *spyCall) log() string { return filepath.Join(c.dir, "log") }

// records returns what the call's plugin and its delegates ran, oldest
// first. The folder stays until the spy closes: a delegate that outlives
// its call (whose plugin timed out) still finds it.
func (c *spyCall) records() []delegation {
	files, _ := filepath.Glob(filepath.Join(c.log(), "call.*"))
	type rec struct {
		d   delegation
		mod int64
	}
	var recs []rec
	for _, f := range files {
		if strings.Contains(filepath.Base(f)[len("call."):], ".") {
			continue // a record's .env, .in, .out, .rc or .parent
		}
		st, err := os.Stat(f)
		if err != nil {
			continue
		}
		typ, _ := os.ReadFile(f)
		parent, _ := os.ReadFile(f + ".parent")
		stdin, _ := os.ReadFile(f + ".in")
		stdout, _ := os.ReadFile(f + ".out")
		rc, _ := os.ReadFile(f + ".rc")
		d := delegation{typ: strings.TrimSpace(string(typ)), parent: strings.TrimSpace(string(parent)), env: map[string]string{}, stdin: stdin,
			stdout: stdout, ok: strings.TrimSpace(string(rc)) == "0"}
		if ef, err := os.Open(f + ".env"); err == nil {
			sc := bufio.NewScanner(ef)
			for sc.Scan() {
				if k, v, ok := strings.Cut(sc.Text(), "="); ok {
					d.env[k] = v
				}
			}
			ef.Close()
		}
		recs = append(recs, rec{d, st.ModTime().UnixNano()})
	}
	sort.SliceStable(recs, func(i, j int) bool { return recs[i].mod < recs[j].mod })
	var out []delegation
	for _, r := range recs {
		out = append(out, r.d)
	}
	return out
}

// failing makes every wrapper fail cmd until the returned func runs.
func (sp *spy) failing(cmd string) (func(), error) {
	f := filepath.Join(sp.dir, "fail-"+cmd)
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		return func() {}, fmt.Errorf("spy: %w", err)
	}
	return func() { os.Remove(f) }, nil
}

func (sp *spy) close() { os.RemoveAll(sp.dir) }
