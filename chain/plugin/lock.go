package plugin

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/egress-router/egress-router/chain/cnierr"
)

// podLock makes our calls for one pod run one at a time: a DEL that
// arrives while the same attachment's ADD runs waits for it, and neither
// sees the other half-done. The lock is a file per network namespace
// (named by the namespace's device and inode, so every path to it is the
// same lock) in the policy's lock folder. The file only matters while a
// call holds it: DEL removes it, and GC removes those no call holds, so
// a node does not keep one per pod it ever ran.
type podLock struct {
	f    *os.File
	path string
}

// lockPod takes the pod's lock, waiting up to wait for another call to
// release it. No netns, no lock (a nil *podLock): there is nothing to
// protect.
func lockPod(dir, netns string, wait time.Duration) (*podLock, error) {
	var st unix.Stat_t
	if netns == "" || unix.Stat(netns, &st) != nil {
		return nil, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, cnierr.IO("lock folder %s: %v", dir, err)
	}
	path := filepath.Join(dir, fmt.Sprintf("pod-%d-%d.lock", st.Dev, st.Ino))
	deadline := time.Now().Add(wait)
	for {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR|syscall.O_NOFOLLOW, 0o600)
		if err != nil {
			return nil, cnierr.IO("lock %s: %v", path, err)
		}
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		switch {
		case err == nil && current(f, path):
			return &podLock{f: f, path: path}, nil
		case err == nil:
			// The holder we waited for removed the file: this lock
			// is on a file no later call opens. Take the new one.
			f.Close()
			continue
		case !errors.Is(err, unix.EWOULDBLOCK):
			f.Close()
			return nil, cnierr.IO("lock %s: %v", path, err)
		}
		f.Close()
		if time.Now().After(deadline) {
			return nil, cnierr.TryAgain("another call for this pod still runs after %s (lock %s)", wait, path)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// current reports whether f is still the file at path.
func current(f *os.File, path string) bool {
	var have, now unix.Stat_t
	return unix.Fstat(int(f.Fd()), &have) == nil && unix.Stat(path, &now) == nil && have.Dev == now.Dev && have.Ino == now.Ino
}

// unlock releases the lock and keeps the file, for the pod's next call.
func (l *podLock) unlock() {
	if l != nil {
		l.f.Close() // closing the last descriptor releases the flock
	}
}

// drop removes the file, then releases the lock: DEL is the pod's last
// call. A call waiting on the removed file notices and takes a new one.
func (l *podLock) drop() {
	if l != nil {
		_ = os.Remove(l.path)
		l.unlock()
	}
}

// sweepLocks removes the lock files in dir that no call holds (GC): a
// pod whose netns went before its DEL left one. Taking each lock first
// keeps a running call's file.
func sweepLocks(dir string) (removed int) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, "pod-") || !strings.HasSuffix(name, ".lock") || !e.Type().IsRegular() {
			continue
		}
		path := filepath.Join(dir, name)
		f, err := os.OpenFile(path, os.O_RDWR|syscall.O_NOFOLLOW, 0)
		if err != nil {
			continue
		}
		if unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) == nil && current(f, path) && os.Remove(path) == nil {
			removed++
		}
		f.Close()
	}
	return removed
}
