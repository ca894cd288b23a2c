package conformance

import (
	"encoding/json"
	"fmt"

	"github.com/egress-router/egress-router/chain/nsutil"
)

const secCheckLater = "§2 CHECK (plugin considerations: later chained plugins)"

// laterRoute is what the stand-in for a later chained plugin adds: a
// route through the pod's eth0, in a block (RFC 2544) no target uses.
const laterDst, laterGW = "198.18.7.0/24", "10.129.2.1"

// checkLaterChanges plays a later chained plugin after ADD: it adds a
// route in the pod and to the result, as such a plugin would, and CHECK
// with that result must still pass.
func (s *suite) checkLaterChanges() {
	const row = "check/later-changes"
	v := s.checkVersion()
	if v == "" {
		s.rep.add(row, secCheckLater, Skip, "no supported version has CHECK")
		return
	}
	a, err := s.attach("later", v)
	if err != nil {
		s.rep.add(row, secCheckLater, Fail, "%v", err)
		return
	}
	defer s.teardown(a)
	if err := nsutil.IP(a.pod.name, "route add "+laterDst+" via "+laterGW+" dev eth0"); err != nil {
		s.rep.add(row, secCheckLater, Fail, "could not add the later plugin's route: %v", err)
		return
	}
	res, err := withRoute(a.result, laterDst, laterGW)
	if err != nil {
		s.rep.add(row, secCheckLater, Fail, "%v", err)
		return
	}
	a.result = res
	if o := s.check(a, "CHECK after a later plugin's route"); o != nil {
		s.rep.add(row, secCheckLater, Fail, "a later plugin added route %s via %s (in the pod and the result); %s", laterDst, laterGW, o.describe())
		return
	}
	s.rep.add(row, secCheckLater, Pass, "CHECK at %s passes after a later plugin added route %s to the pod and the result", v, laterDst)
}

// withRoute returns result with one more route, every other field kept.
func withRoute(result []byte, dst, gw string) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(result, &m); err != nil {
		return nil, fmt.Errorf("result %q: %w", clip(string(result)), err)
	}
	var routes []json.RawMessage
	if len(m["routes"]) > 0 {
		if err := json.Unmarshal(m["routes"], &routes); err != nil {
			return nil, fmt.Errorf("result routes %s: %w", m["routes"], err)
		}
	}
	routes = append(routes, mustJSON(map[string]string{"dst": dst, "gw": gw}))
	m["routes"] = mustJSON(routes)
	return json.Marshal(m)
}
