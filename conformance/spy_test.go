package conformance

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/egress-router/egress-router/chain/nstest"
	"github.com/egress-router/egress-router/chain/nsutil"
)

// Two calls running at once each get the delegation their own plugin
// made, and only that one: the spy's records are the call's, not
// whatever any call made meanwhile. The second call hands its delegate
// another CNI_CONTAINERID (as delegate-sloppy does), so the records
// cannot be matched by it either.
func TestSpyAttributesConcurrentCalls(t *testing.T) {
	nstest.Need(t)
	dir, barrier := t.TempDir(), t.TempDir()
	// caller delegates to callee through CNI_PATH, as a plugin runs its
	// IPAM plugin, then waits until both calls have done so, and says
	// how many it saw: each call then ends with both records written.
	caller := fmt.Sprintf(`#!/bin/sh
case "$CNI_ARGS" in *rename*) CNI_CONTAINERID=renamed; export CNI_CONTAINERID;; esac
old=$IFS; IFS=:
for d in $CNI_PATH; do
  if [ -x "$d/callee" ]; then IFS=$old; "$d/callee" > /dev/null; break; fi
done
IFS=$old
touch '%[1]s'/$$
i=0
while [ "$(ls '%[1]s' | wc -l)" -lt 2 ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
echo "{\"overlap\": $(ls '%[1]s' | wc -l)}"
`, barrier)
	for name, script := range map[string]string{"caller": caller, "callee": "#!/bin/sh\ncat > /dev/null\necho '{}'\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	host := fmt.Sprintf("cnc-spytest-%d", os.Getpid())
	if err := nsutil.Add(host); err != nil {
		t.Fatal(err)
	}
	defer nsutil.Del(host)
	r, err := newRunner(host, []string{dir}, []string{"caller"}, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer r.close()

	calls := []*call{
		{command: "ADD", containerID: "cnc-a", netns: "/run/netns/a", ifName: "net1", stdin: []byte(`{"name":"a"}`)},
		{command: "ADD", containerID: "cnc-b", netns: "/run/netns/b", ifName: "net1", args: "rename", stdin: []byte(`{"name":"b"}`)},
	}
	wantID := []string{"cnc-a", "renamed"}
	outs := make([]*outcome, len(calls))
	var wg sync.WaitGroup
	for i, c := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i] = r.run(c)
		}()
	}
	wg.Wait()
	for i, o := range outs {
		if !o.ok() || !strings.Contains(o.stdout, `"overlap": 2`) {
			t.Fatalf("call %d did not run beside the other: %s, stdout %q, stderr %q", i, o.describe(), o.stdout, o.stderr)
		}
		if len(o.delegated) != 1 {
			t.Errorf("call %d (%s): %d delegations recorded, want its own 1: %+v", i, calls[i].containerID, len(o.delegated), o.delegated)
			continue
		}
		d := o.delegated[0]
		if d.typ != "callee" || string(d.stdin) != string(calls[i].stdin) || d.env["CNI_CONTAINERID"] != wantID[i] {
			t.Errorf("call %d got the delegation %s with stdin %q and CNI_CONTAINERID %q, want callee with %q and %q",
				i, d.typ, d.stdin, d.env["CNI_CONTAINERID"], calls[i].stdin, wantID[i])
		}
		if d.env["CNI_PATH"] != o.cniPath {
			t.Errorf("call %d: the delegate's CNI_PATH %q, the call's %q", i, d.env["CNI_PATH"], o.cniPath)
		}
	}
	if outs[0].cniPath == outs[1].cniPath {
		t.Errorf("both calls got CNI_PATH %q: their records share a folder", outs[0].cniPath)
	}
}
