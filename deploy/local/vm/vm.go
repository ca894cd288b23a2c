// Package vm boots a Debian kernel in qemu (software emulation: the
// machines this project runs on have no KVM) with a busybox initramfs,
// runs a shell script in it and returns what the script printed. It is how
// the tests reach kernel features the host lacks (ipvlan, SCTP).
//
// build.sh makes the kernel and base initramfs once per kernel; each run
// appends a cpio archive of its own files (the kernel unpacks both), so
// the project's binaries never invalidate the cache.
package vm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Kernel is a built kernel and base initramfs.
type Kernel struct {
	Release string // e.g. 6.1.0-57-amd64
	Dir     string // holds vmlinuz and base.cpio
}

// Build runs build.sh (beside this file, in dir) for a Debian kernel
// package ("" for what linux-image-amd64 depends on), caching in cache.
func Build(dir, cache, pkg string) (Kernel, error) {
	args := []string{filepath.Join(dir, "build.sh"), cache}
	if pkg != "" {
		args = append(args, pkg)
	}
	var stderr bytes.Buffer
	cmd := exec.Command("bash", args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return Kernel{}, fmt.Errorf("build.sh %s: %w: %s", pkg, err, strings.TrimSpace(stderr.String()))
	}
	d := strings.TrimSpace(string(out))
	return Kernel{Release: filepath.Base(d), Dir: d}, nil
}

// Run is one boot.
type Run struct {
	// Files maps a path in the guest to a file on the host, copied in.
	Files map[string]string
	// Script is /opt/egress/run.sh, run by busybox sh as root. Note that
	// busybox's sh runs its own applets before PATH: call host tools
	// (ip, nsenter) by full path in it; programs it starts use PATH.
	Script string
	// MemMiB is the guest's memory (default 2048); CPUs its vCPUs
	// (default 2).
	MemMiB, CPUs int
	// Timeout bounds the whole boot (default 20 minutes).
	Timeout time.Duration
	// Console, if set, receives the kernel's console as it runs.
	Console io.Writer
}

// Result is what a boot left.
type Result struct {
	// Output is what the script wrote (stdout and stderr).
	Output string
	// Exit is the script's exit status.
	Exit int
	// Console is the kernel's console (boot messages, init's notes).
	Console string
	Elapsed time.Duration
}

var exitLine = regexp.MustCompile(`(?m)^EGRESS-VM exit (\d+)`)

// Boot runs r on k. An error means the guest did not report an exit
// status (it crashed, hung past the timeout, or qemu failed); Result
// holds what was seen.
func (k Kernel) Boot(ctx context.Context, r Run) (Result, error) {
	if r.MemMiB == 0 {
		r.MemMiB = 2048
	}
	if r.CPUs == 0 {
		r.CPUs = 2
	}
	if r.Timeout == 0 {
		r.Timeout = 20 * time.Minute
	}
	work, err := os.MkdirTemp("", "egress-vm-")
	if err != nil {
		return Result{}, err
	}
	defer os.RemoveAll(work)
	initrd, err := k.initrd(work, r)
	if err != nil {
		return Result{}, err
	}
	outFile := filepath.Join(work, "out")
	ctx, cancel := context.WithTimeout(ctx, r.Timeout)
	defer cancel()
	var console bytes.Buffer
	cmd := exec.CommandContext(ctx, "qemu-system-x86_64",
		"-machine", "q35", "-cpu", "max", "-smp", strconv.Itoa(r.CPUs), "-m", strconv.Itoa(r.MemMiB),
		"-nographic", "-no-reboot", "-monitor", "none", "-nic", "none",
		"-kernel", filepath.Join(k.Dir, "vmlinuz"), "-initrd", initrd,
		"-append", "console=ttyS0 panic=-1 quiet",
		"-serial", "stdio", "-serial", "file:"+outFile)
	var w io.Writer = &console
	if r.Console != nil {
		w = io.MultiWriter(&console, r.Console)
	}
	cmd.Stdout, cmd.Stderr = w, w
	start := time.Now()
	runErr := cmd.Run()
	res := Result{Console: console.String(), Elapsed: time.Since(start), Exit: -1}
	b, _ := os.ReadFile(outFile)
	// the guest's tty writes \r\n
	out := strings.ReplaceAll(string(b), "\r\n", "\n")
	res.Console = strings.ReplaceAll(res.Console, "\r\n", "\n")
	m := exitLine.FindAllStringSubmatchIndex(out, -1)
	if len(m) == 0 {
		res.Output = out
		if ctx.Err() != nil {
			return res, fmt.Errorf("the guest did not finish in %s", r.Timeout)
		}
		return res, fmt.Errorf("the guest reported no exit status (qemu: %v)", runErr)
	}
	last := m[len(m)-1]
	res.Exit, _ = strconv.Atoi(out[last[2]:last[3]])
	res.Output = out[:last[0]]
	return res, nil
}

// initrd writes base.cpio followed by a cpio of r's files and script.
func (k Kernel) initrd(work string, r Run) (string, error) {
	root := filepath.Join(work, "root")
	files := map[string]string{}
	for g, h := range r.Files {
		files[g] = h
	}
	script := filepath.Join(work, "run.sh")
	if err := os.WriteFile(script, []byte(r.Script), 0o755); err != nil {
		return "", err
	}
	files["/opt/egress/run.sh"] = script
	for g, h := range files {
		dst := filepath.Join(root, g)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return "", err
		}
		if err := copyFile(h, dst); err != nil {
			return "", err
		}
	}
	payload := filepath.Join(work, "payload.cpio")
	f, err := os.Create(payload)
	if err != nil {
		return "", err
	}
	defer f.Close()
	// busybox cpio reads the names from stdin, as cpio -o does.
	var names bytes.Buffer
	err = filepath.Walk(root, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		names.WriteString(rel + "\n")
		return nil
	})
	if err != nil {
		return "", err
	}
	cpio := exec.Command("busybox", "cpio", "-o", "-H", "newc")
	cpio.Dir, cpio.Stdin, cpio.Stdout = root, &names, f
	var stderr bytes.Buffer
	cpio.Stderr = &stderr
	if err := cpio.Run(); err != nil {
		return "", fmt.Errorf("cpio of the run's files: %w: %s", err, stderr.String())
	}
	initrd := filepath.Join(work, "initrd.cpio")
	out, err := os.Create(initrd)
	if err != nil {
		return "", err
	}
	defer out.Close()
	for _, p := range []string{filepath.Join(k.Dir, "base.cpio"), payload} {
		in, err := os.Open(p)
		if err != nil {
			return "", err
		}
		_, err = io.Copy(out, in)
		in.Close()
		if err != nil {
			return "", err
		}
	}
	return initrd, out.Close()
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	if st.IsDir() {
		return errors.New(src + " is a folder")
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, st.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
