package conformance

import (
	"fmt"
	"slices"
	"strings"

	"github.com/egress-router/egress-router/chain/nsutil"
)

// Spec sections (CNI SPEC.md, 1.1.0) the checks come from.
const (
	secVersion  = "§2 VERSION, §5 VERSION Success"
	secIncompat = "§5 Error (code 1)"
	secAdd      = "§2 ADD, §5 ADD Success"
	secAddIf    = "§2 ADD (existing interface)"
	secCheck    = "§2 CHECK"
	secDel      = "§2 DEL"
	secParams   = "§2 Parameters, §5 Error (code 4)"
	secDecode   = "§5 Error (code 6)"
	secName     = "§1 Configuration format (name)"
	secErrors   = "§2 Errors, §5 Error"
	secChain    = "§2 ADD (prevResult), §5 ADD Success"
	secStatus   = "§2 STATUS"
	secGC       = "§2 GC"
	secStdout   = "§2 Overview, §5"
	secHost     = "§2 DEL, §2 Overview"
)

func (s *suite) versionChecks() {
	var bad, lacks []string
	for i := 0; i < s.to; i++ {
		o := s.r.run(&call{plugin: i, command: "VERSION", stdin: mustJSON(map[string]string{"cniVersion": s.l.CNIVersion}),
			omit: []string{"CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME"}, why: "VERSION"})
		var v versionResult
		if !o.ok() {
			bad = append(bad, o.describe())
			continue
		}
		if err := strictOne([]byte(o.stdout), &v); err != nil {
			bad = append(bad, fmt.Sprintf("%s: %v: %q", s.l.Types[i], err, clip(o.stdout)))
			continue
		}
		if len(v.SupportedVersions) == 0 {
			bad = append(bad, fmt.Sprintf("%s: no supportedVersions", s.l.Types[i]))
		}
		if v.CNIVersion == "" {
			bad = append(bad, fmt.Sprintf("%s: no cniVersion", s.l.Types[i]))
		}
		if !slices.Contains(v.SupportedVersions, s.l.CNIVersion) && i >= s.from {
			lacks = append(lacks, fmt.Sprintf("%s supports %v", s.l.Types[i], v.SupportedVersions))
		}
		var vs []string
		for _, x := range Versions {
			if slices.Contains(v.SupportedVersions, x) {
				vs = append(vs, x)
			}
		}
		if i == 0 {
			s.supported = vs
		} else {
			s.supported = slices.DeleteFunc(s.supported, func(x string) bool { return !slices.Contains(vs, x) })
		}
	}
	if len(bad) > 0 {
		s.rep.add("version/json", secVersion, Fail, "%s", strings.Join(bad, "; "))
	} else {
		s.rep.add("version/json", secVersion, Pass, "every plugin answers VERSION with cniVersion and supportedVersions; together they support %v", s.supported)
	}
	if len(lacks) > 0 {
		s.rep.add("version/config", secVersion, Fail, "the config's %s is not supported: %s", s.l.CNIVersion, strings.Join(lacks, "; "))
	} else {
		s.rep.add("version/config", secVersion, Pass, "supportedVersions contain the config's %s", s.l.CNIVersion)
	}

}

// wantRefused is wantError for a call on attachment a, whose pod was
// before before it: a refusal that changed the pod fails too.
func (s *suite) wantRefused(check, section string, a *attachment, before nsutil.Snapshot, o *outcome, code uint, what string) bool {
	if !s.wantError(check, section, o, code, what) {
		return false
	}
	if after, _ := nsutil.Take(a.pod.name); before.Changes(after) != "" {
		s.rep.Rows[len(s.rep.Rows)-1] = Row{check, section, Fail, "the refused " + what + " changed the pod: " + before.Changes(after)}
		return false
	}
	return true
}

// wantError adds a row that passes when o failed the CNI way with code
// (0: any code).
func (s *suite) wantError(check, section string, o *outcome, code uint, what string) bool {
	if o.ok() {
		s.rep.add(check, section, Fail, "%s succeeded; want an error", what)
		return false
	}
	got, msg, ok := o.cniError()
	switch {
	case o.timedOut:
		s.rep.add(check, section, Fail, "%s: %s", what, o.describe())
	case !ok:
		s.rep.add(check, section, Fail, "%s: exit %d but stdout is not a CNI error: %q", what, o.exit, clip(o.stdout))
	case code != 0 && got != code:
		s.rep.add(check, section, Fail, "%s: code %d (%s), want %d", what, got, msg, code)
	default:
		s.rep.add(check, section, Pass, "%s: code %d: %s", what, got, msg)
		return true
	}
	return false
}
