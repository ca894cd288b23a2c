package conformance

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/egress-router/egress-router/chain/nstest"
)

func load(t *testing.T, name string) *Target {
	t.Helper()
	tg, err := LoadTarget(filepath.Join("targets", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

func grade(t *testing.T, tg *Target) *Report {
	t.Helper()
	rep, err := Run(tg)
	if err != nil {
		t.Fatalf("suite: %v", err)
	}
	var b bytes.Buffer
	_ = rep.WriteText(&b)
	t.Logf("\n%s", b.String())
	rowsAreChecks(t, rep)
	return rep
}

// Our plugins pass every check but one, by design: make test fails on
// any other FAIL, and on that one passing.
func TestOurPlugins(t *testing.T) {
	nstest.Need(t)
	bin := nstest.BinDir(t)
	for _, name := range []string{"egress-route", "egress-nat", "egress-router", "egress-chain"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			gradeOurs(t, bin, name, ourKnown[name])
		})
	}
}

// ourKnown is the one rule our plugins depart from. Section 4 has a
// delegate get its caller's whole config, written for IPAM plugins, which
// read their section of it. egress-router delegates to an interface
// plugin instead, whose schema its own config is not: macvlan given
// egress-router's config has no master and no ipam and fails. So it
// passes macvlan a config of macvlan's own (as Multus does for the
// plugins it runs), and macvlan passes that whole config on to static.
var ourKnown = map[string]map[string]string{
	"egress-router":        {"delegate/same-config": "a meta-plugin: macvlan gets a macvlan config, not egress-router's"},
	"egress-router-ipvlan": {"delegate/same-config": "a meta-plugin: ipvlan gets an ipvlan config, not egress-router's"},
}

// Our plugins on ipvlan pass every check too, where the kernel has
// ipvlan (make test-kernels: in a VM); upstream ipvlan is graded first,
// and its failures are reported, not hidden.
func TestOnIPVLAN(t *testing.T) {
	nstest.Need(t)
	bin := nstest.BinDir(t)
	upstream := map[string]bool{}
	t.Run("ipvlan", func(t *testing.T) {
		tg := load(t, "ipvlan")
		tg.CNIPath = []string{bin}
		rep := grade(t, tg)
		if r, ok := rep.Row("requires/ipvlan"); ok {
			nstest.SkipUnlessRequired(t, "ipvlan", r.Why)
		}
		if r, ok := rep.Row("add/result 1.1.0"); !ok || r.Status != Pass {
			t.Errorf("upstream ipvlan ADD: %+v, want PASS", r)
		}
		for _, r := range rep.Failed() {
			upstream[r.Check] = true
			t.Logf("upstream ipvlan FAIL %s (%s): %s", r.Check, r.Section, r.Why)
		}
	})
	t.Run("egress-router-ipvlan", func(t *testing.T) {
		gradeOurs(t, bin, "egress-router-ipvlan", ourKnown["egress-router-ipvlan"])
	})
	// In the conflist, upstream ipvlan runs first: when its ADD fails on
	// an existing interface it leaves its temporary link (vethXXXXXXXX) in
	// the pod, and nothing after it in the list runs. The single plugin
	// removes that link (it passes the same check). Known only while
	// upstream ipvlan fails it in the same run.
	t.Run("egress-chain-ipvlan", func(t *testing.T) {
		var known map[string]string
		if upstream["add/existing-ifname"] {
			known = map[string]string{"add/existing-ifname": "upstream ipvlan's temporary link"}
		}
		rep := gradeOurs(t, bin, "egress-chain-ipvlan", known)
		if r, _ := rep.Row("add/existing-ifname"); r.Status == Fail && !strings.Contains(r.Why, ": veth") {
			t.Errorf("add/existing-ifname fails for another reason than upstream ipvlan's link: %s", r.Why)
		}
	})
}

// gradeOurs grades one of our targets through Test (a FAIL fails, but
// for the known ones) and fails on a missing row every target has.
func gradeOurs(t *testing.T, bin, name string, known map[string]string) *Report {
	tg := load(t, name)
	tg.CNIPath = []string{bin}
	rep := Test(t, tg, known)
	rowsAreChecks(t, rep)
	if r, ok := rep.Row("requires/ipvlan"); ok {
		nstest.SkipUnlessRequired(t, "ipvlan", r.Why)
	}
	// The rows every target has, so a run that skipped its way to
	// zero failures does not pass.
	for _, c := range []string{"version/json", "add/result 1.1.0", "add/result 0.3.0", "check/after-add", "del/leaves-nothing",
		"del/twice", "del/empty-netns", "del/without-add", "del/netns-gone", "status", "gc", "hygiene/stdout", "hygiene/host"} {
		if r, ok := rep.Row(c); !ok || r.Status != Pass {
			t.Errorf("%s: %+v, want PASS", c, r)
		}
	}
	if rep.Count(Pass) < 30 {
		t.Errorf("only %d checks passed", rep.Count(Pass))
	}
	owned := 0
	for _, r := range rep.Rows {
		if strings.HasPrefix(r.Check, "check/owned: ") && r.Status == Pass {
			owned++
		}
	}
	if owned != len(tg.Owns) {
		t.Errorf("%d of %d owned resources checked", owned, len(tg.Owns))
	}
	return rep
}

// brokenTarget grades the deliberately faulty plugin, chained after
// upstream macvlan + static, with one fault on.
func brokenTarget(t *testing.T, fault string) *Target {
	timeout := 10 * time.Second
	if fault == "hang" {
		timeout = time.Second
	}
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command("go", "build", "-ldflags", "-X main.fault="+fault, "-o", filepath.Join(dir, "broken"), "./testdata/broken").CombinedOutput()
	if err != nil {
		t.Fatalf("build the broken plugin: %v: %s", err, out)
	}
	plugin := map[string]any{"type": "broken", "break": fault}
	if fault == "" || strings.HasPrefix(fault, "delegate-") {
		// Delegating costs a run a few seconds: only the runs that grade it do.
		plugin["ipam"] = map[string]any{"type": "static", "addresses": []any{map[string]any{"address": "192.168.12.98/24"}}}
	}
	if fault == "ipam-interfaces" {
		// broken is its own IPAM plugin here, one that names an interface
		if out, err := exec.Command("cp", filepath.Join(dir, "broken"), filepath.Join(dir, "brokenipam")).CombinedOutput(); err != nil {
			t.Fatalf("copy the broken plugin: %v: %s", err, out)
		}
		plugin["ipam"] = map[string]any{"type": "brokenipam"}
	}
	cfg, _ := json.Marshal(map[string]any{
		"cniVersion": "1.1.0", "name": "broken",
		"plugins": []any{
			map[string]any{"type": "macvlan", "master": "ext0",
				"ipam": map[string]any{"type": "static", "addresses": []any{map[string]any{"address": "192.168.12.99/24"}}}},
			plugin,
		},
	})
	g := 1
	return &Target{Name: "broken " + fault, Config: cfg, Grade: &g, CNIPath: []string{dir, nstest.BinDir(t)},
		Owns: []Resource{{Name: "route", Remove: "ip route del 198.51.100.0/24"}}, Timeout: timeout}
}

// The suite reports FAIL, on the right check, for each fault, and the
// faultless plugin passes: the checks can fail and do not fail at random.
func TestBrokenPlugin(t *testing.T) {
	nstest.Need(t)
	cases := []struct {
		fault string
		fails []string
	}{
		{"", nil},
		{"stdout-log", []string{"hygiene/stdout"}},
		{"del-twice", []string{"del/twice", "del/netns-gone"}},
		{"leak", []string{"del/leaves-nothing"}},
		{"check-blind", []string{"check/owned: route"}},
		{"drop-prev", []string{"chained/passes-prev"}},
		{"plain-errors", []string{"error/format", "error/no-command", "error/no-ifname", "error/no-name"}},
		{"hang", []string{"hygiene/time", "del/twice"}},
		{"panic-noprev", []string{"chained/no-prev", "hygiene/no-panic"}},
		{"version-current", []string{"version/echo"}},
		{"check-strict", []string{"check/later-changes"}},
		{"del-needs-prev", []string{"del/no-prev"}},
		{"unknown-ok", []string{"error/unknown-command"}},
		{"vague-env", []string{"error/names-variable"}},
		{"delegate-sloppy", []string{"delegate/forwards", "delegate/same-env", "delegate/same-config", "delegate/stderr", "delegate/del-after-failure", "delegate/passes-errors"}},
		{"odd-code", []string{"error/codes"}},
		{"ipam-interfaces", []string{"delegate/ipam-result"}},
		{"racy", []string{"concurrent/containers"}},
		// only the CHECKs run at once go without their delegate
		{"delegate-busy", []string{"delegate/forwards"}},
	}
	// The faults are graded at once, eight at a time (go test's -parallel
	// is the core count, and a run mostly waits on processes), and the
	// subtests judge the reports.
	type graded struct {
		rep *Report
		err error
	}
	runs := make([]chan graded, len(cases))
	slots := make(chan struct{}, 8)
	for i, c := range cases {
		tg := brokenTarget(t, c.fault)
		runs[i] = make(chan graded, 1)
		go func() {
			slots <- struct{}{}
			defer func() { <-slots }()
			rep, err := Run(tg)
			runs[i] <- graded{rep, err}
		}()
	}
	for i, c := range cases {
		t.Run("fault="+c.fault, func(t *testing.T) {
			g := <-runs[i]
			if g.err != nil {
				t.Fatalf("suite: %v", g.err)
			}
			rep := g.rep
			var b bytes.Buffer
			_ = rep.WriteText(&b)
			t.Logf("\n%s", b.String())
			rowsAreChecks(t, rep)
			failed := map[string]bool{}
			for _, r := range rep.Failed() {
				failed[r.Check] = true
			}
			for _, f := range c.fails {
				if !failed[f] {
					r, _ := rep.Row(f)
					t.Errorf("%s: %s %q, want FAIL", f, r.Status, r.Why)
				}
			}
			if c.fault == "" && len(failed) > 0 {
				t.Errorf("the faultless plugin failed %v", failed)
			}
		})
	}
}

// A kernel without a required link kind skips every check with why,
// and Test does not judge a known failure of that run, since no check ran.
func TestRequiresSkips(t *testing.T) {
	nstest.Need(t)
	tg := load(t, "macvlan")
	tg.CNIPath = []string{nstest.BinDir(t)}
	tg.Requires = []string{"no-such-kind"}
	rep := grade(t, tg)
	if len(rep.Rows) != 1 || rep.Rows[0].Status != Skip || !strings.Contains(rep.Rows[0].Why, "no-such-kind") {
		t.Errorf("rows %+v", rep.Rows)
	}
	for _, v := range judge(rep, map[string]string{"delegate/forwards": "macvlan does not forward GC"}) {
		if v.status != Skip {
			t.Errorf("%s: %s %q, want SKIP", v.check, v.status, v.msg)
		}
	}
}

func TestLoadTarget(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain.conflist")
	_ = os.WriteFile(plain, []byte(`{"cniVersion":"1.0.0","name":"n","plugins":[{"type":"a"},{"type":"b"}]}`), 0o600)
	tg, err := LoadTarget(plain)
	if err != nil || tg.Name != "plain" || tg.Grade != nil {
		t.Fatalf("%+v %v", tg, err)
	}
	l, err := parseList(tg.Config)
	if err != nil || strings.Join(l.Types, ",") != "a,b" || l.CNIVersion != "1.0.0" {
		t.Fatalf("%+v %v", l, err)
	}
	// libcni's injection: name and version from the list, prevResult set.
	var got map[string]any
	_ = json.Unmarshal(l.conf(1, "n", "0.4.0", []byte(`{"cniVersion":"0.4.0"}`), map[string]any{"x": 1}), &got)
	if got["name"] != "n" || got["cniVersion"] != "0.4.0" || got["type"] != "b" || got["prevResult"] == nil || got["x"] != 1.0 {
		t.Errorf("conf %v", got)
	}
	for _, bad := range []string{`{"name":"n","plugins":[]}`, `{"cniVersion":"1.0.0","plugins":[{}]}`, `{"type":"a"}`, `[`} {
		if _, err := parseList([]byte(bad)); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func TestValidateResult(t *testing.T) {
	good := `{"cniVersion":"1.0.0","interfaces":[{"name":"net1","mac":"02:00:00:00:00:01","sandbox":"/run/netns/p"}],
	  "ips":[{"address":"192.168.12.99/24","gateway":"192.168.12.1","interface":0}],"routes":[{"dst":"0.0.0.0/0","gw":"192.168.12.1"}]}`
	if _, bad := validateResult([]byte(good), "1.0.0", "/run/netns/p", "net1", true); len(bad) > 0 {
		t.Errorf("good result: %v", bad)
	}
	for _, c := range []struct{ out, ver, frag string }{
		{good, "1.1.0", `cniVersion "1.0.0"`},
		{strings.Replace(good, `"interface":0`, `"interface":3`, 1), "1.0.0", "not an index"},
		{strings.Replace(good, `"sandbox":"/run/netns/p"`, `"sandbox":""`, 1), "1.0.0", `no interface "net1" with sandbox`},
		{strings.Replace(good, `0.0.0.0/0`, `default`, 1), "1.0.0", "routes[0].dst"},
		{strings.Replace(good, `192.168.12.99/24`, `192.168.12.99`, 1), "1.0.0", "not CIDR"},
		{good + "\nlog line", "1.0.0", "not one JSON result"},
		{strings.Replace(good, `"1.0.0"`, `"0.3.1"`, 1), "0.3.1", `ips[0].version ""`},
	} {
		_, bad := validateResult([]byte(c.out), c.ver, "/run/netns/p", "net1", true)
		if !strings.Contains(strings.Join(bad, "; "), c.frag) {
			t.Errorf("%s: problems %v, want one with %q", c.frag, bad, c.frag)
		}
	}
}
