// egress-install copies the CNI plugin binaries from its image into the
// node's CNI bin folder (a hostPath), then waits, so the DaemonSet pod
// stays up and a new image version reinstalls on rollout.
//
//	egress-install -src /egress-router/bin -dest /host/opt/cni/bin [-once]
//
// Each file is written beside its final name and renamed into place, so a
// runtime calling a plugin during an upgrade runs either the old binary or
// the new one, never half a file. Files that are already identical are
// left alone.
package main

import (
	"bytes"
	"crypto/sha256"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"syscall"
)

func main() {
	src := flag.String("src", "/egress-router/bin", "folder holding the binaries to install")
	dest := flag.String("dest", "/host/opt/cni/bin", "the node's CNI bin folder, mounted from the host (OpenShift: /var/lib/cni/bin)")
	once := flag.Bool("once", false, "install and exit instead of waiting")
	flag.Parse()
	n, err := install(*src, *dest)
	if err != nil {
		fmt.Fprintln(os.Stderr, "egress-install:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "egress-install: %d of the binaries in %s installed into %s (the rest were up to date)\n", n, *src, *dest)
	if *once {
		return
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
}

// install copies every regular file of src into dest; it returns how many
// it wrote.
func install(src, dest string) (int, error) {
	entries, err := os.ReadDir(src)
	if err != nil {
		return 0, err
	}
	if st, err := os.Stat(dest); err != nil || !st.IsDir() {
		return 0, fmt.Errorf("destination %s is not a folder (is the host path mounted?): %w", dest, err)
	}
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		return 0, fmt.Errorf("no binaries in %s", src)
	}
	sort.Strings(names)
	written := 0
	for _, name := range names {
		changed, err := copyFile(filepath.Join(src, name), filepath.Join(dest, name))
		if err != nil {
			return written, fmt.Errorf("%s: %w", name, err)
		}
		if changed {
			written++
		}
	}
	return written, nil
}

func digest(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}

// copyFile installs src as dest through a temporary file in dest's folder
// and a rename; it reports whether anything changed.
func copyFile(src, dest string) (bool, error) {
	want, err := digest(src)
	if err != nil {
		return false, err
	}
	if have, err := digest(dest); err == nil && bytes.Equal(have, want) {
		if st, err := os.Stat(dest); err == nil && st.Mode().Perm() == 0o755 {
			return false, nil
		}
	}
	in, err := os.Open(src)
	if err != nil {
		return false, err
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dest), "."+filepath.Base(dest)+".new-")
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	if _, err := io.Copy(tmp, in); err != nil {
		tmp.Close()
		return false, err
	}
	if err := tmp.Chmod(0o755); err != nil {
		tmp.Close()
		return false, err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return false, err
	}
	if err := tmp.Close(); err != nil {
		return false, err
	}
	return true, os.Rename(tmp.Name(), dest)
}
