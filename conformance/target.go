package conformance

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Target is what the suite grades.
type Target struct {
	// Name labels the report; default: the network's name.
	Name string `json:"target,omitempty"`
	// Config is a plugin config (one "type") or a conflist ("plugins").
	Config json.RawMessage `json:"config"`
	// Grade chooses what is graded in a conflist: nil grades the whole
	// list; N grades plugin N, with the plugins before it run as set-up
	// (how a chained plugin gets its prevResult) and those after it left
	// out.
	Grade *int `json:"grade,omitempty"`
	// CNIPath lists the folders the plugins are found in.
	CNIPath []string `json:"-"`
	// IfName is CNI_IFNAME; default net1.
	IfName string `json:"ifName,omitempty"`
	// Args is CNI_ARGS.
	Args string `json:"args,omitempty"`
	// Owns declares resources the graded plugin owns beyond the
	// interface and its addresses, so the suite can remove each by hand
	// and expect CHECK to notice.
	Owns []Resource `json:"owns,omitempty"`
	// External lists plugin types of a graded conflist whose own checks
	// (errors, STATUS, prevResult handling) are skipped here because
	// they are graded in a target of their own (e.g. upstream macvlan in
	// our conflist). Whole-list checks still cover them.
	External []string `json:"external,omitempty"`
	// Second is a config for an attachment that exists beside one of
	// Config's (the GC check's stale one), for a target where two of the
	// same would collide: two ipvlan ports on one master cannot hold one
	// address. Same plugins in the same order; default: Config.
	Second json.RawMessage `json:"second,omitempty"`
	// Requires lists link kinds the kernel must support (e.g. ipvlan);
	// without them every check is skipped with that reason.
	Requires []string `json:"requires,omitempty"`
	// Timeout bounds each plugin call; default 30s.
	Timeout time.Duration `json:"-"`
	// CNIVersion, when set, grades the config at this version instead
	// of its own, the way a runtime writes the config for plugins whose
	// VERSION stops short of it (Debian's 1.1.1 plugins speak up to
	// 1.0.0, and the targets are written at 1.1.0).
	CNIVersion string `json:"-"`
	// HostLinks names links the sandbox keeps in its host namespace for
	// a plugin to take into the pod (host-device): each is a veth whose
	// peer, the name with "p" appended, stays in the host. A veth inside
	// a pod whose namespace is deleted is deleted by the kernel, with
	// its peer, so the sandbox makes a missing pair again before each
	// pod, with the same index and address, and the host's snapshot
	// stays comparable.
	HostLinks []string `json:"hostLinks,omitempty"`
	// Daemons run for the whole run, in the sandbox's host or ext
	// namespace, and are stopped at its end: the dhcp plugin's daemon,
	// and a DHCP server beyond ext0.
	Daemons []Daemon `json:"daemons,omitempty"`
}

// RunDirVar is replaced in Config and Second, and set in the environment
// of Daemons and Owns commands, with a directory of the run's own
// (removed at its end): for state a plugin keeps outside the namespaces,
// such as host-local's dataDir or the dhcp daemon's socket, so runs in
// parallel do not share it.
const RunDirVar = "$CNC_RUN_DIR"

// Daemon is a shell command the suite starts before grading, in the
// sandbox's "host" namespace (default) or "ext", with CNC_RUN_DIR set
// and the CNI path first in PATH; the suite waits until Ready (a path,
// usually a socket) exists, and kills the command's process group at
// the end.
type Daemon struct {
	Name  string `json:"name"`
	Run   string `json:"run"`
	In    string `json:"in,omitempty"`
	Ready string `json:"ready,omitempty"`
}

// Resource is something a plugin owns, and a shell command that removes
// it, run with CNI_IFNAME, CNI_NETNS and CNI_CONTAINERID set in the pod's
// network namespace, or the host's when In is "host".
type Resource struct {
	Name   string `json:"name"`
	Remove string `json:"remove"`
	In     string `json:"in,omitempty"`
}

// LoadTarget reads a target file: either a plain CNI config or conflist,
// or a suite file {"target", "grade", "owns", "requires", "hostLinks",
// "daemons", "config": …}.
func LoadTarget(path string) (*Target, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(b, &probe); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	t := &Target{}
	if _, ok := probe["config"]; ok {
		if err := json.Unmarshal(b, t); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	} else {
		t.Config = b
	}
	if t.Name == "" {
		t.Name = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	}
	return t, nil
}

// list is the target's config as a conflist: a single plugin config is a
// list of one.
type list struct {
	Name       string
	CNIVersion string
	Plugins    []map[string]json.RawMessage
	Types      []string
}

func parseList(raw []byte) (*list, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	l := &list{}
	str := func(m map[string]json.RawMessage, k string) string {
		var s string
		_ = json.Unmarshal(m[k], &s)
		return s
	}
	l.Name, l.CNIVersion = str(top, "name"), str(top, "cniVersion")
	if p, ok := top["plugins"]; ok {
		if err := json.Unmarshal(p, &l.Plugins); err != nil {
			return nil, fmt.Errorf("config: plugins: %w", err)
		}
	} else {
		l.Plugins = []map[string]json.RawMessage{top}
	}
	if len(l.Plugins) == 0 {
		return nil, fmt.Errorf("config: no plugins")
	}
	for i, p := range l.Plugins {
		t := str(p, "type")
		if t == "" {
			return nil, fmt.Errorf("config: plugin %d has no type", i)
		}
		l.Types = append(l.Types, t)
	}
	if l.CNIVersion == "" {
		return nil, fmt.Errorf("config: no cniVersion")
	}
	return l, nil
}

// conf builds one plugin's stdin the way libcni does: the plugin object
// with the list's name and version, and prevResult when there is one.
// extra members are set last (nil values remove a member).
func (l *list) conf(i int, name, version string, prev []byte, extra map[string]any) []byte {
	m := map[string]json.RawMessage{}
	for k, v := range l.Plugins[i] {
		m[k] = v
	}
	set := func(k string, v any) {
		if v == nil {
			delete(m, k)
			return
		}
		b, _ := json.Marshal(v)
		m[k] = b
	}
	set("name", name)
	set("cniVersion", version)
	delete(m, "prevResult")
	if len(prev) > 0 {
		m["prevResult"] = json.RawMessage(prev)
	}
	for k, v := range extra {
		set(k, v)
	}
	b, _ := json.Marshal(m)
	return b
}

// GradedType returns the type of the first graded plugin ("" when the
// config cannot be read).
func GradedType(t *Target) string {
	l, err := parseList(t.Config)
	if err != nil {
		return ""
	}
	if t.Grade != nil && *t.Grade >= 0 && *t.Grade < len(l.Types) {
		return l.Types[*t.Grade]
	}
	return l.Types[0]
}
