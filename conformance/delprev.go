package conformance

const secDelPrev = "§2 DEL (prevResult)"

// delNoPrev deletes an attachment with no prevResult in the config: the
// spec supplies one on DEL but asks plugins to succeed without it (a
// runtime that lost its result cache still deletes).
func (s *suite) delNoPrev() {
	const row = "del/no-prev"
	a, err := s.attach("delnoprev", s.l.CNIVersion)
	if err != nil {
		s.rep.add(row, secDelPrev, Fail, "%v", err)
		return
	}
	defer s.teardown(a)
	g := s.graded()
	for k := len(g) - 1; k >= 0; k-- {
		o := s.call(a, "DEL", g[k], a.pod.path, a.l.conf(g[k], a.l.Name, a.ver, nil, nil), "DEL without prevResult")
		if !o.ok() {
			s.rep.add(row, secDelPrev, Fail, "DEL without prevResult after ADD: %s", o.describe())
			return
		}
	}
	s.rep.add(row, secDelPrev, Pass, "DEL of an added attachment without prevResult succeeds")
}
