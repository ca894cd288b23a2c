// egress-install copies the CNI plugin binaries from its image into the
// node's CNI bin folder (a hostPath), and the node policy from its
// ConfigMap into the node's policy file.
//
//	egress-install -once -src /egress-router/bin -dest /host/opt/cni/bin \
//	    [-policy-src /policy/policy.json -policy-dest /host/etc/cni/egress-router/policy.json]
//	egress-install -pause
//
// The installer DaemonSet runs the first as an init container, which
// holds the host mounts only while it copies, and the second as its one
// long-running container, which holds nothing and waits, so a new image
// version or policy reinstalls on rollout. Without -once the installer
// waits itself after installing.
//
// Each file is written beside its final name and renamed into place, so a
// runtime calling a plugin during an upgrade runs either the old binary or
// the new one, never half a file. Files that are already identical are
// left alone. A policy that does not parse is not installed (the
// installer fails, and the node keeps its previous policy); no policy in
// the ConfigMap removes the node's, so the defaults apply.
package main

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"syscall"

	"github.com/egress-router/egress-router/chain/policy"
)

func main() {
	src := flag.String("src", "/egress-router/bin", "folder holding the binaries to install")
	dest := flag.String("dest", "/host/opt/cni/bin", "the node's CNI bin folder, mounted from the host (OpenShift: /var/lib/cni/bin)")
	policySrc := flag.String("policy-src", "", "the policy file from the ConfigMap (none: no policy to install)")
	policyDest := flag.String("policy-dest", "/host"+policy.DefaultPath, "the node's policy file, mounted from the host")
	once := flag.Bool("once", false, "install and exit instead of waiting")
	pause := flag.Bool("pause", false, "install nothing; wait for a signal (the DaemonSet's long-running container)")
	flag.Parse()
	if !*pause {
		if err := run(*src, *dest, *policySrc, *policyDest); err != nil {
			fmt.Fprintln(os.Stderr, "egress-install:", err)
			os.Exit(1)
		}
		if *once {
			return
		}
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
}

func run(src, dest, policySrc, policyDest string) error {
	n, err := install(src, dest)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "egress-install: %d of the binaries in %s installed into %s (the rest were up to date)\n", n, src, dest)
	if policySrc == "" {
		return nil
	}
	what, err := installPolicy(policySrc, policyDest)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "egress-install: policy %s: %s\n", policyDest, what)
	return nil
}

// installPolicy installs the policy file after checking that it parses;
// without a source file it removes the node's, so the defaults apply.
func installPolicy(src, dest string) (string, error) {
	b, err := os.ReadFile(src)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.Remove(dest); err == nil {
			return "removed (no policy in the ConfigMap: the defaults apply)", nil
		} else if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		return "none (the defaults apply)", nil
	}
	if err != nil {
		return "", err
	}
	if _, err := policy.Parse(b); err != nil {
		return "", fmt.Errorf("policy %s is not installed: %w", src, err)
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return "", err
	}
	changed, err := writeFile(dest, b, 0o644)
	if err != nil {
		return "", err
	}
	if !changed {
		return "up to date", nil
	}
	return "installed", nil
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
	return digestOf(f)
}

func digestOf(r io.Reader) ([]byte, error) {
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}

// copyFile installs src as dest, mode 0755; it reports whether anything
// changed.
func copyFile(src, dest string) (bool, error) {
	in, err := os.Open(src)
	if err != nil {
		return false, err
	}
	defer in.Close()
	return writeFrom(dest, in, 0o755)
}

// writeFile installs b as dest with the mode.
func writeFile(dest string, b []byte, mode os.FileMode) (bool, error) {
	return writeFrom(dest, bytes.NewReader(b), mode)
}

// writeFrom installs what r holds as dest through a temporary file in
// dest's folder and a rename, unless dest holds it already with the mode;
// it reports whether anything changed.
func writeFrom(dest string, r io.ReadSeeker, mode os.FileMode) (bool, error) {
	want, err := digestOf(r)
	if err != nil {
		return false, err
	}
	if have, err := digest(dest); err == nil && bytes.Equal(have, want) {
		if st, err := os.Stat(dest); err == nil && st.Mode().Perm() == mode {
			return false, nil
		}
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return false, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dest), "."+filepath.Base(dest)+".new-")
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	if _, err := io.Copy(tmp, r); err != nil {
		tmp.Close()
		return false, err
	}
	if err := tmp.Chmod(mode); err != nil {
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
