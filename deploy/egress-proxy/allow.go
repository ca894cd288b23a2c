package main

import (
	"fmt"
	"strings"
)

// allowList is the names a proxy lets through: exact names, and
// "*.suffix" entries matching every name under suffix (not suffix itself).
type allowList struct {
	exact    map[string]bool
	suffixes []string
}

// canonical is a name in lower case without its final dot.
func canonical(name string) string { return strings.TrimSuffix(strings.ToLower(name), ".") }

func parseAllow(s string) (*allowList, error) {
	a := &allowList{exact: map[string]bool{}}
	for _, e := range strings.Split(s, ",") {
		e = canonical(strings.TrimSpace(e))
		switch {
		case e == "":
		case strings.HasPrefix(e, "*."):
			a.suffixes = append(a.suffixes, e[1:])
		case strings.ContainsAny(e, "*/ "):
			return nil, fmt.Errorf("-allow: %q is neither a name nor *.name", e)
		default:
			a.exact[e] = true
		}
	}
	if len(a.exact) == 0 && len(a.suffixes) == 0 {
		return nil, fmt.Errorf("-allow: empty; name what may be reached")
	}
	return a, nil
}

func (a *allowList) allows(name string) bool {
	name = canonical(name)
	if a.exact[name] {
		return true
	}
	for _, s := range a.suffixes {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}
