package conformance

import (
	"fmt"
	"sync"

	"github.com/egress-router/egress-router/chain/nsutil"
)

const secConcurrent = "§3 Lifecycle & Ordering (concurrency)"

// concurrentCheck attaches two containers at once (the target's config
// and its second), then CHECKs and DELs both at once: a plugin must cope
// with calls for different containers running together, locking what
// they share. Both must succeed, CHECK must see each as ADD made it, and
// each pod must be as before. What these calls delegate is graded by
// the delegate/* checks like any call's: the spy keeps each call's
// records apart.
func (s *suite) concurrentCheck() {
	const row = "concurrent/containers"
	ver := s.checkVersion()
	if ver == "" {
		s.rep.add(row, secConcurrent, Skip, "no supported version has CHECK")
		return
	}
	var pair [2]*attachment
	for i, l := range []*list{s.l, s.second} {
		a, err := s.prepareTo(fmt.Sprintf("conc-%c", 'a'+i), ver, s.from, l)
		if err != nil {
			s.rep.add(row, secConcurrent, Fail, "%v", err)
			return
		}
		defer s.teardown(a)
		pair[i] = a
	}
	var before [2]nsutil.Snapshot
	for i, a := range pair {
		before[i], _ = nsutil.Take(a.pod.name)
	}
	var bad []string
	both := func(cmd string, f func(a *attachment) *outcome) {
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i, a := range pair {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if o := f(a); o != nil {
					mu.Lock()
					bad = append(bad, fmt.Sprintf("%s of container %c: %s", cmd, 'A'+i, o.describe()))
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
	}
	both("ADD", func(a *attachment) *outcome { return s.add(a, "ADD beside another container's") })
	if len(bad) == 0 {
		both("CHECK", func(a *attachment) *outcome { return s.check(a, "CHECK beside another container's") })
	}
	both("DEL", func(a *attachment) *outcome { return s.del(a, a.pod.path, "DEL beside another container's") })
	for i, a := range pair {
		if after, err := nsutil.Take(a.pod.name); err == nil && before[i].Changes(after) != "" {
			bad = append(bad, fmt.Sprintf("container %c's pod after DEL: %s", 'A'+i, before[i].Changes(after)))
		}
	}
	s.row(row, secConcurrent, firstFew(bad), "two containers' ADD, CHECK and DEL at once all succeed, and both pods are as before")
}
