package conformance

import (
	"fmt"
	"strings"
)

const secVersionEcho = "§5 VERSION Success (cniVersion)"

// versionEcho asks each graded plugin's VERSION at every version it
// supports: the answer's cniVersion must be the one asked, not the
// newest the plugin knows.
func (s *suite) versionEcho() {
	const row = "version/echo"
	run, external := s.perPlugin()
	var bad, good []string
	for _, t := range external {
		good = append(good, t+": graded in its own target")
	}
	for _, i := range run {
		for _, v := range s.supported {
			o := s.r.run(&call{plugin: i, command: "VERSION", stdin: mustJSON(map[string]string{"cniVersion": v}),
				omit: []string{"CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME"}, why: "VERSION at " + v})
			var got versionResult
			switch {
			case !o.ok():
				bad = append(bad, o.describe())
			case strictOne([]byte(o.stdout), &got) != nil:
				bad = append(bad, fmt.Sprintf("%s: VERSION at %s: not one JSON object: %q", s.l.Types[i], v, clip(o.stdout)))
			case got.CNIVersion != v:
				bad = append(bad, fmt.Sprintf("%s: VERSION asked at %s answers cniVersion %q", s.l.Types[i], v, got.CNIVersion))
			}
		}
		good = append(good, fmt.Sprintf("%s: %d versions echoed", s.l.Types[i], len(s.supported)))
	}
	if len(run) == 0 || len(s.supported) == 0 {
		s.rep.add(row, secVersionEcho, Skip, "no graded plugin of this target, or no supported version")
		return
	}
	s.row(row, secVersionEcho, firstFew(bad), "%s", strings.Join(good, "; "))
}
