package nstest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// PauseImage is the name the node's sandbox and container image is
// imported under: the one deploy/'s router Deployment names, so the
// manifest runs unchanged (it is never pulled: the node has no registry).
const PauseImage = "registry.k8s.io/pause:3.10"

// KubeNode is a real single-node Kubernetes cluster: etcd and
// kube-apiserver (APIServer), kube-controller-manager, kube-scheduler,
// containerd with runc, kubelet, and the Multus thin plugin as the node's
// CNI config, delegating the cluster network to upstream ptp with
// host-local IPAM.
//
// The node's CNI bin folder is /opt/cni/bin in its own mount namespace.
// It starts with the cluster network's plugins only (ptp, host-local,
// loopback, Multus): ours and the upstream macvlan, ipvlan and static
// arrive as on a real node, through the installer DaemonSet from its
// image (ImportImage), and so does the node's policy file.
//
// Everything runs inside the test's node namespace. containerd and
// kubelet share one private mount namespace in which the paths they
// would otherwise write on the machine (/var/lib/cni, /var/log/pods,
// /var/log/containers, /run/containerd, /run/netns, /var/lib/kubelet)
// are tmpfs, so pods, their netns pins and caches vanish with it.
// What kubelet does change on the machine (kernel sysctls it insists on,
// cgroup folders runc makes) is put back exactly when the test ends.
type KubeNode struct {
	*APIServer
	Name      string
	Dir       string
	Socket    string // containerd
	MultusLog string
	mountPID  int // containerd: its mount namespace is the node's
	nodeIP    string
	podSubnet string
	kubeBin   string
	cniSeed   string // the seed of NodeCNIBin
	pause     string // bin/pause, packed into PauseImage
	nodeNetns string
	// kubeletExtra is added to the kubelet's configuration.
	kubeletExtra string
	madeDirs     []string // mount points made on the machine, removed at the end
	containerd   *exec.Cmd
	kubelet      *exec.Cmd
}

// kubeletSysctls are the kernel settings kubelet sets at start when they
// differ (vm.overcommit_memory, kernel.panic, ...); they are global, not
// per namespace, so the test puts them back.
var kubeletSysctls = []string{"vm/overcommit_memory", "vm/panic_on_oom", "kernel/panic", "kernel/panic_on_oops",
	"kernel/keys/root_maxkeys", "kernel/keys/root_maxbytes"}

// privatePaths are made tmpfs in the node's mount namespace.
var privatePaths = []string{"/var/lib/cni", "/var/log/pods", "/var/log/containers", "/run/containerd",
	"/run/netns", "/var/lib/kubelet", "/opt/containerd", NodeCNIBin, NodePolicyDir}

// NodeCNIBin and NodePolicyDir are the node's CNI bin folder and policy
// folder, as the installer DaemonSet's hostPaths name them.
const (
	NodeCNIBin    = "/opt/cni/bin"
	NodePolicyDir = "/etc/cni/egress-router"
)

// clusterPlugins are what the node's CNI bin folder holds before any
// installer ran: the cluster network (Multus, ptp with host-local) and
// the loopback containerd sets up every pod's lo with.
var clusterPlugins = []string{"ptp", "host-local", "loopback"}

// StartKubeNode starts the cluster in netns (which must exist, with
// forwarding on): the control plane on the namespace's loopback and one
// node registered as name with nodeIP; pods get cluster addresses from
// podSubnet through ptp. cniBin is make build's folder, which the cluster
// network's plugins and the pause binary are taken from; Multus comes
// from EGRESS_KUBE_BIN. The test is skipped when EGRESS_KUBE_BIN is
// unset, like StartAPIServer.
func StartKubeNode(t *testing.T, netns, name, nodeIP, podSubnet, cniBin string) *KubeNode {
	t.Helper()
	cp := StartControlPlane(t, netns, "127.0.0.1")
	return cp.StartNode(t, NodeSpec{Netns: netns, Name: name, IP: nodeIP, PodSubnet: podSubnet, CNIBin: cniBin})
}

// ControlPlane is etcd, kube-apiserver, kube-controller-manager and
// kube-scheduler in one namespace; nodes in others join it.
type ControlPlane struct {
	*APIServer
	kubeBin string
}

// StartControlPlane starts the control plane in netns, the API server
// listening on addr (an address of netns that the nodes reach). Extra
// flags go to the controller manager (node failure detection, for one).
func StartControlPlane(t *testing.T, netns, addr string, controllerFlags ...string) *ControlPlane {
	t.Helper()
	kubeBin := os.Getenv(KubeBinEnv)
	if kubeBin == "" {
		t.Skipf("%s is not set: no kubelet to run (make test builds one)", KubeBinEnv)
	}
	for _, b := range []string{"kubelet", "kube-controller-manager", "kube-scheduler", "multus"} {
		if _, err := os.Stat(filepath.Join(kubeBin, b)); err != nil {
			t.Fatalf("%s=%s: %v (make kube builds it)", KubeBinEnv, kubeBin, err)
		}
	}
	for _, b := range []string{"containerd", "containerd-shim-runc-v2", "runc", "ctr", "nsenter", "unshare"} {
		if _, err := exec.LookPath(b); err != nil {
			t.Fatalf("%s is not installed (make deps installs containerd): %v", b, err)
		}
	}
	restoreHost(t)
	api := StartAPIServerOn(t, netns, addr)
	startDaemon(t, api.dir, netns, "kube-controller-manager", append([]string{filepath.Join(kubeBin, "kube-controller-manager"),
		"--kubeconfig=" + api.Kubeconfig, "--leader-elect=false", "--bind-address=127.0.0.1", "--secure-port=10257",
		"--service-account-private-key-file=" + filepath.Join(api.dir, "sa.key"), "--root-ca-file=" + filepath.Join(api.dir, "ca.crt"),
		"--use-service-account-credentials=false"}, controllerFlags...)...)
	startDaemon(t, api.dir, netns, "kube-scheduler", filepath.Join(kubeBin, "kube-scheduler"),
		"--kubeconfig="+api.Kubeconfig, "--leader-elect=false", "--bind-address=127.0.0.1", "--secure-port=10259")
	return &ControlPlane{APIServer: api, kubeBin: kubeBin}
}

// NodeSpec is one node of a cluster.
type NodeSpec struct {
	Netns, Name, IP, PodSubnet string
	// CNIBin is make build's folder (the cluster network's plugins and
	// the pause binary come from it).
	CNIBin string
	// Kubelet is added to the kubelet's configuration (YAML lines).
	Kubelet string
}

// StartNode starts containerd and kubelet for a node in its namespace
// (which must exist, with forwarding on and a route to the control
// plane) and waits until the node is Ready.
func (cp *ControlPlane) StartNode(t *testing.T, spec NodeSpec) *KubeNode {
	t.Helper()
	n := &KubeNode{APIServer: cp.APIServer, Name: spec.Name, Dir: t.TempDir(), nodeIP: spec.IP, podSubnet: spec.PodSubnet,
		kubeBin: cp.kubeBin, nodeNetns: spec.Netns, kubeletExtra: spec.Kubelet}
	n.Socket = filepath.Join(n.Dir, "containerd.sock")
	n.MultusLog = filepath.Join(n.Dir, "multus.log")
	steps := []func() error{func() error { return n.cni(spec.CNIBin) }, n.startContainerd, n.importPause}
	for _, s := range steps {
		if err := s(); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(n.stop)
	if err := n.startKubelet(t); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		out, err := n.Kubectl("get", "node", n.Name, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`)
		if err == nil && out == "True" {
			break
		}
		if syscall.Kill(n.kubelet.Process.Pid, 0) != nil || time.Now().After(deadline) {
			t.Fatalf("node %s not Ready (%v %s):\n%s", n.Name, err, out, n.tail("kubelet.log", 30))
		}
		time.Sleep(250 * time.Millisecond)
	}
	// The controller manager makes each namespace's default ServiceAccount;
	// pods are refused until it exists.
	n.WaitFor(t, "ServiceAccount default/default", func() error {
		_, err := n.Kubectl("get", "serviceaccount", "default")
		return err
	})
	return n
}

// restoreHost records what kubelet and runc change outside the node's
// namespaces and puts it back when the test ends.
func restoreHost(t *testing.T) {
	saved := map[string]string{}
	for _, k := range kubeletSysctls {
		b, err := os.ReadFile("/proc/sys/" + k)
		if err != nil {
			t.Fatalf("kernel setting %s: %v", k, err)
		}
		saved[k] = string(b)
	}
	cgroups := cgroupChildren()
	t.Cleanup(func() {
		for k, v := range saved {
			if b, _ := os.ReadFile("/proc/sys/" + k); string(b) != v {
				if err := os.WriteFile("/proc/sys/"+k, []byte(v), 0o644); err != nil {
					t.Errorf("putting back kernel setting %s=%s: %v", k, strings.TrimSpace(v), err)
				}
			}
		}
		for d := range cgroupChildren() {
			// egress-test-*: another test's, removed by it (Podman's).
			if !cgroups[d] && !strings.HasPrefix(filepath.Base(d), "egress-test-") {
				if err := RemoveCgroup(d); err != nil {
					t.Errorf("cgroup %s left behind: %v", d, err)
				}
			}
		}
	})
}

// cgroupChildren lists the folders one level under each v1 controller.
func cgroupChildren() map[string]bool {
	out := map[string]bool{}
	ctrls, _ := filepath.Glob("/sys/fs/cgroup/*")
	for _, c := range ctrls {
		entries, _ := os.ReadDir(c)
		for _, e := range entries {
			if e.IsDir() {
				out[filepath.Join(c, e.Name())] = true
			}
		}
	}
	return out
}

// RemoveCgroup removes an (empty of tasks) cgroup folder, children first.
func RemoveCgroup(d string) error {
	entries, _ := os.ReadDir(d)
	for _, e := range entries {
		if e.IsDir() {
			if err := RemoveCgroup(filepath.Join(d, e.Name())); err != nil {
				return err
			}
		}
	}
	return syscall.Rmdir(d)
}

// cni writes the seed of the node's CNI bin folder (the cluster
// network's plugins and Multus, copied into it when containerd starts)
// and the node's CNI config: Multus with the API server's kubeconfig,
// delegating the cluster network to ptp + host-local; the NADs named in a
// pod's annotation add the rest.
func (n *KubeNode) cni(bin string) error {
	n.cniSeed = filepath.Join(n.Dir, "cni-seed")
	if err := os.MkdirAll(n.cniSeed, 0o755); err != nil {
		return err
	}
	for _, p := range clusterPlugins {
		if err := os.Symlink(filepath.Join(bin, p), filepath.Join(n.cniSeed, p)); err != nil {
			return err
		}
	}
	if err := os.Symlink(filepath.Join(n.kubeBin, "multus"), filepath.Join(n.cniSeed, "multus")); err != nil {
		return err
	}
	n.pause = filepath.Join(bin, "pause")
	conf := map[string]any{
		"cniVersion": "1.0.0", "name": "multus-cni-network", "type": "multus",
		"kubeconfig": n.Kubeconfig, "binDir": NodeCNIBin, "cniDir": filepath.Join(n.Dir, "multus"),
		"logFile": n.MultusLog, "logLevel": "debug", "logToStderr": false,
		"delegates": []any{map[string]any{
			"cniVersion": "1.0.0", "name": "cluster",
			"plugins": []any{map[string]any{"type": "ptp", "ipam": map[string]any{
				"type": "host-local", "subnet": n.podSubnet, "dataDir": filepath.Join(n.Dir, "ipam"),
				"routes": []any{map[string]any{"dst": "0.0.0.0/0"}}}}},
		}},
	}
	b, _ := json.MarshalIndent(conf, "", "  ")
	if err := os.MkdirAll(filepath.Join(n.Dir, "net.d"), 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(n.Dir, "net.d", "00-multus.conf"), b, 0o644)
}

// startContainerd starts containerd in the node's netns and a new mount
// namespace whose machine-wide paths are tmpfs (see KubeNode).
func (n *KubeNode) startContainerd() error {
	d := n.Dir
	conf := fmt.Sprintf(`version = 2
root = %[1]q
state = %[2]q
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
[grpc]
  address = %[3]q
[plugins."io.containerd.internal.v1.opt"]
  path = %[4]q
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %[5]q
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  # no CAP_SYS_RESOURCE here: runc cannot lower oom_score_adj otherwise
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = %[6]q
    conf_dir = %[7]q
    max_conf_num = 1
`, filepath.Join(d, "containerd", "root"), filepath.Join(d, "containerd", "state"), n.Socket,
		filepath.Join(d, "containerd", "opt"), PauseImage, NodeCNIBin, filepath.Join(d, "net.d"))
	cfg := filepath.Join(d, "containerd.toml")
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		return err
	}
	// The mount points must exist on the machine; those made here are
	// removed again (they stay empty: everything went into the tmpfs).
	var made []string
	var mounts []string
	for _, p := range privatePaths {
		if _, err := os.Stat(p); os.IsNotExist(err) {
			if err := os.MkdirAll(p, 0o755); err != nil {
				return err
			}
			made = append(made, p)
		}
		mounts = append(mounts, "mount -t tmpfs -o mode=0755 egress-test "+p)
	}
	n.madeDirs = made
	mounts = append(mounts, fmt.Sprintf("cp -L %s/* %s/", n.cniSeed, NodeCNIBin))
	script := strings.Join(append(mounts, "exec containerd --config "+cfg), " && ")
	logf, err := os.Create(filepath.Join(d, "containerd.log"))
	if err != nil {
		return err
	}
	cmd := exec.Command("nsenter", "--net="+Path(n.nodeNetns), "unshare", "--mount", "--propagation", "slave", "sh", "-c", script)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("containerd: %v", err)
	}
	n.containerd = cmd
	n.mountPID = cmd.Process.Pid
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := n.ctr("version"); err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("containerd not up in 30 s:\n%s", n.tail("containerd.log", 20))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// StartProxy runs kube-proxy (nftables mode) in the node's namespace, so
// Services' cluster IPs work from its pods. It leaves the kernel's
// conntrack limits and timeouts alone: those are global, not the node
// namespace's.
func (n *KubeNode) StartProxy(t *testing.T, clusterCIDR string) {
	t.Helper()
	bin := filepath.Join(n.kubeBin, "kube-proxy")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("%s: %v (make kube builds it)", bin, err)
	}
	cfg := fmt.Sprintf(`apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: %q}
mode: nftables
clusterCIDR: %s
hostnameOverride: %s
bindAddress: 127.0.0.1
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
`, n.Kubeconfig, clusterCIDR, n.Name)
	p := filepath.Join(n.Dir, "kube-proxy.yaml")
	if err := os.WriteFile(p, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	startDaemon(t, n.Dir, n.nodeNetns, "kube-proxy", bin, "--config="+p, "--v=2")
}

// NodeNetns is the node's network namespace (Netns is the control plane's).
func (n *KubeNode) NodeNetns() string { return n.nodeNetns }

// ImportImage imports an image archive (OCI or docker) into the node's
// containerd, as a node whose registry the image was pushed to would pull
// it: pods naming it start without a pull.
func (n *KubeNode) ImportImage(archive string) error {
	_, err := n.ctr("images", "import", archive)
	return err
}

// NodePath is a path as the node (containerd, kubelet, its pods' host
// mounts) sees it, from outside its mount namespace.
func (n *KubeNode) NodePath(p string) string {
	return filepath.Join(fmt.Sprintf("/proc/%d/root", n.mountPID), p)
}

func (n *KubeNode) ctr(args ...string) (string, error) {
	out, err := exec.Command("ctr", append([]string{"-a", n.Socket, "-n", "k8s.io"}, args...)...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("ctr %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// importPause packs bin/pause into an OCI image and imports it.
func (n *KubeNode) importPause() error {
	pause, err := os.ReadFile(n.pause)
	if err != nil {
		return fmt.Errorf("pause binary (make build makes it): %v", err)
	}
	tarball, err := OCIImage(PauseImage, "/pause", map[string][]byte{"pause": pause})
	if err != nil {
		return err
	}
	p := filepath.Join(n.Dir, "pause.tar")
	if err := os.WriteFile(p, tarball, 0o644); err != nil {
		return err
	}
	_, err = n.ctr("images", "import", p)
	return err
}

func (n *KubeNode) startKubelet(t *testing.T) error {
	d := filepath.Join(n.Dir, "kubelet")
	if err := os.MkdirAll(d, 0o755); err != nil {
		return err
	}
	cfg := fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
authorization: {mode: AlwaysAllow}
cgroupDriver: cgroupfs
# cgroup v1 here, and no systemd: kubelet must accept both
failCgroupV1: false
failSwapOn: false
cgroupsPerQOS: false
enforceNodeAllocatable: []
containerRuntimeEndpoint: unix://%[1]s
imageServiceEndpoint: unix://%[1]s
evictionHard: {}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
podLogsDir: /var/log/pods
resolvConf: ""
clusterDomain: cluster.local
%[2]s
`, n.Socket, n.kubeletExtra)
	p := filepath.Join(d, "config.yaml")
	if err := os.WriteFile(p, []byte(cfg), 0o644); err != nil {
		return err
	}
	logf, err := os.Create(filepath.Join(n.Dir, "kubelet.log"))
	if err != nil {
		return err
	}
	// kubelet joins containerd's mount namespace: the volumes it mounts
	// must be the ones containerd bind-mounts into containers.
	cmd := exec.Command("nsenter", "-t", strconv.Itoa(n.mountPID), "--net", "--mount",
		filepath.Join(n.kubeBin, "kubelet"), "--config="+p, "--kubeconfig="+n.Kubeconfig,
		"--root-dir=/var/lib/kubelet", "--cert-dir="+filepath.Join(d, "pki"),
		"--hostname-override="+n.Name, "--node-ip="+n.nodeIP, "--v=2")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("kubelet: %v", err)
	}
	n.kubelet = cmd
	return nil
}

// Fail makes the node lost to the cluster, as a machine that crashed
// would be for the control plane: kubelet and containerd are killed
// without a word. The pods' processes keep running (the test takes the
// node's links down to cut them off too); the end of the test removes
// them.
func (n *KubeNode) Fail() {
	for _, c := range []*exec.Cmd{n.kubelet, n.containerd} {
		if c != nil && c.ProcessState == nil {
			_ = c.Process.Kill()
			_ = c.Wait()
		}
	}
}

// stop takes the node down: kubelet, every pod's processes and shim,
// then containerd; the mount namespace goes with the last of them.
func (n *KubeNode) stop() {
	if n.kubelet != nil && n.kubelet.ProcessState == nil {
		stopProcess(n.kubelet.Process.Pid)
		_ = n.kubelet.Wait()
	}
	// Pods still running (a failed test) are killed with their shims:
	// their network namespaces go with their processes.
	for _, pid := range n.shims() {
		killTree(pid)
	}
	if n.containerd != nil && n.containerd.ProcessState == nil {
		stopProcess(n.containerd.Process.Pid)
		_ = n.containerd.Wait()
	}
	for i := len(n.madeDirs) - 1; i >= 0; i-- {
		_ = os.Remove(n.madeDirs[i])
	}
}

// shims lists the containerd-shim processes serving this node's socket.
func (n *KubeNode) shims() []int {
	var pids []int
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil || !bytes.Contains(b, []byte("containerd-shim")) || !bytes.Contains(b, []byte(n.Socket)) {
			continue
		}
		if pid, err := strconv.Atoi(filepath.Base(filepath.Dir(p))); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// killTree kills a process and its descendants, children first.
func killTree(pid int) {
	kids, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	for _, f := range strings.Fields(string(kids)) {
		if k, err := strconv.Atoi(f); err == nil {
			killTree(k)
		}
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
}

// stopProcess asks a process to stop, and kills it after 10 s.
func stopProcess(pid int) {
	_ = syscall.Kill(pid, syscall.SIGTERM)
	for i := 0; i < 100; i++ {
		if syscall.Kill(pid, 0) != nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
}

// tail returns the last lines of one of the node's logs.
func (n *KubeNode) tail(log string, lines int) string {
	l := strings.Split(strings.TrimRight(n.Log(log), "\n"), "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}

// WaitFor polls ok for up to 90 s; then it fails the test with ok's last
// error and the end of kubelet's log, where a pod's trouble shows first.
func (n *KubeNode) WaitFor(t *testing.T, what string, ok func() error) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		err := ok()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v\nkubelet:\n%s", what, err, n.tail("kubelet.log", 25))
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// PodNetns returns a path to a running pod's network namespace, through
// its first container's process (the pins under /run/netns are private
// to the node's mount namespace).
func (n *KubeNode) PodNetns(namespace, pod string) (string, error) {
	id, err := n.Kubectl("get", "pod", "-n", namespace, pod, "-o", "jsonpath={.status.containerStatuses[0].containerID}")
	if err != nil {
		return "", err
	}
	pid, err := n.TaskPID(strings.TrimPrefix(strings.TrimSpace(id), "containerd://"))
	if err != nil {
		return "", fmt.Errorf("pod %s/%s: %v", namespace, pod, err)
	}
	return fmt.Sprintf("/proc/%d/ns/net", pid), nil
}

// TaskPID returns the process of a running container or sandbox.
func (n *KubeNode) TaskPID(id string) (int, error) {
	out, err := n.ctr("tasks", "ls")
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) >= 3 && f[0] == id && f[2] == "RUNNING" {
			return strconv.Atoi(f[1])
		}
	}
	return 0, fmt.Errorf("no running task %q:\n%s", id, out)
}

// DelegateResult returns the CNI result of one of Multus's delegates
// (network name, container ID, interface) as libcni cached it in Multus's
// cniDir: what the plugin returned to Multus.
func (n *KubeNode) DelegateResult(network, containerID, ifName string) ([]byte, error) {
	p := filepath.Join(n.Dir, "multus", "results", network+"-"+containerID+"-"+ifName)
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	var cached struct {
		Result json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(b, &cached); err != nil || len(cached.Result) == 0 {
		return nil, fmt.Errorf("%s: no result (%v): %s", p, err, b)
	}
	return cached.Result, nil
}

// Log returns one of the node's logs (kubelet.log, containerd.log,
// multus.log, kube-scheduler.log, ...).
func (n *KubeNode) Log(name string) string {
	b, _ := os.ReadFile(filepath.Join(n.Dir, name))
	return string(b)
}
