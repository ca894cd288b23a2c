package plugin

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func lockFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "pod-*.lock"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// DEL's drop leaves no file; a call that waited on the dropped file
// takes the new one, so two calls never hold the pod at once.
func TestLockDropHandsOver(t *testing.T) {
	dir := t.TempDir()
	netns := "/proc/self/ns/net"
	first, err := lockPod(dir, netns, time.Second)
	if err != nil || first == nil {
		t.Fatalf("lock: %v, %v", first, err)
	}
	got := make(chan *podLock)
	go func() {
		l, err := lockPod(dir, netns, 5*time.Second)
		if err != nil {
			t.Error(err)
		}
		got <- l
	}()
	select {
	case l := <-got:
		t.Fatalf("a second call took the pod while the first held it: %v", l)
	case <-time.After(100 * time.Millisecond):
	}
	first.drop()
	second := <-got
	if second == nil || !current(second.f, second.path) {
		t.Fatal("the waiting call holds a file that is no longer the pod's lock")
	}
	// A third call must wait for the second, not take the removed file.
	if _, err := lockPod(dir, netns, 50*time.Millisecond); err == nil {
		t.Fatal("a third call took the pod while the second held it")
	}
	second.drop()
	if m := lockFiles(t, dir); len(m) != 0 {
		t.Errorf("after DEL's drop: %v left", m)
	}
	third, err := lockPod(dir, netns, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	third.unlock()
	if m := lockFiles(t, dir); len(m) != 1 {
		t.Errorf("unlock (ADD, CHECK) keeps the file: have %v", m)
	}
	if l, err := lockPod(dir, "", time.Second); l != nil || err != nil {
		t.Errorf("no netns: %v, %v; want no lock and no error", l, err)
	}
}

// GC removes the files no call holds and keeps the held one.
func TestSweepLocks(t *testing.T) {
	dir := t.TempDir()
	held, err := lockPod(dir, "/proc/self/ns/net", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer held.unlock()
	for _, name := range []string{"pod-1-2.lock", "pod-3-4.lock", "other.file"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if n := sweepLocks(dir); n != 2 {
		t.Errorf("swept %d files, want the 2 stale ones", n)
	}
	if m := lockFiles(t, dir); len(m) != 1 || m[0] != held.path {
		t.Errorf("left %v, want only the held %s", m, held.path)
	}
	if _, err := os.Stat(filepath.Join(dir, "other.file")); err != nil {
		t.Errorf("a file not ours was touched: %v", err)
	}
}
