package conformance

import (
	"encoding/json"
	"fmt"
	"slices"
)

const secIPAMResult = "§5 Delegated plugins (IPAM)"

// ipamResult reads what each IPAM plugin a graded plugin ran on ADD
// printed: an IPAM plugin knows no interface, so its result names none,
// neither in interfaces nor as ips[].interface. A delegate is the IPAM
// plugin when its type is the ipam.type of the config it got.
func (s *suite) ipamResult(row string) {
	run, _ := s.perPlugin()
	var bad, seen []string
	for _, o := range s.r.outcomes {
		if o.call.command != "ADD" || !slices.Contains(run, o.call.plugin) {
			continue
		}
		for _, d := range s.r.direct(o) {
			if d.env["CNI_COMMAND"] != "ADD" || !d.ok || ipamType(d.stdin) != d.typ {
				continue
			}
			if !slices.Contains(seen, d.typ) {
				seen = append(seen, d.typ)
			}
			if why := ipamShape(d.stdout); why != "" {
				bad = append(bad, fmt.Sprintf("%s ADD (%s) → %s: %s", o.typ, o.call.why, d.typ, why))
			}
		}
	}
	if len(seen) == 0 {
		s.rep.add(row, secIPAMResult, Skip, "no graded plugin ran an IPAM plugin (the ipam.type of its config) on ADD")
		return
	}
	s.row(row, secIPAMResult, firstFew(dedupe(bad)), "the results of %v name no interface", seen)
}

// ipamType is the ipam.type of a config, or "".
func ipamType(conf []byte) string {
	var c struct {
		IPAM struct {
			Type string `json:"type"`
		} `json:"ipam"`
	}
	if json.Unmarshal(conf, &c) != nil {
		return ""
	}
	return c.IPAM.Type
}

// ipamShape says what in an IPAM plugin's result names an interface.
func ipamShape(out []byte) string {
	var r struct {
		Interfaces []json.RawMessage `json:"interfaces"`
		IPs        []struct {
			Interface *int `json:"interface"`
		} `json:"ips"`
	}
	if err := json.Unmarshal(out, &r); err != nil {
		return fmt.Sprintf("its result is not JSON: %v", err)
	}
	if len(r.Interfaces) > 0 {
		return fmt.Sprintf("its result has %d interfaces", len(r.Interfaces))
	}
	for i, ip := range r.IPs {
		if ip.Interface != nil {
			return fmt.Sprintf("ips[%d].interface is %d", i, *ip.Interface)
		}
	}
	return ""
}
