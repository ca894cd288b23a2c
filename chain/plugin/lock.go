package plugin

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/egress-router/egress-router/chain/cnierr"
)

// lockPod makes our calls for one pod run one at a time: a DEL that
// arrives while the same attachment's ADD runs waits for it, and neither
// sees the other half-done. The lock is a file per network namespace
// (named by the namespace's device and inode, so every path to it is the
// same lock) in the policy's lock folder. No netns, no lock: there is
// nothing to protect.
func lockPod(dir, netns string, wait time.Duration) (release func(), err error) {
	none := func() {}
	var st unix.Stat_t
	if netns == "" || unix.Stat(netns, &st) != nil {
		return none, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return none, cnierr.IO("lock folder %s: %v", dir, err)
	}
	path := filepath.Join(dir, fmt.Sprintf("pod-%d-%d.lock", st.Dev, st.Ino))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return none, cnierr.IO("lock %s: %v", path, err)
	}
	deadline := time.Now().Add(wait)
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return func() {
				_ = unix.Flock(int(f.Fd()), unix.LOCK_UN)
				f.Close()
			}, nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) {
			f.Close()
			return none, cnierr.IO("lock %s: %v", path, err)
		}
		if time.Now().After(deadline) {
			f.Close()
			return none, cnierr.TryAgain("another call for this pod still runs after %s (lock %s)", wait, path)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
