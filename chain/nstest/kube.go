package nstest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"github.com/egress-router/egress-router/chain/testnet"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// KubeBinEnv names the folder holding kube-apiserver (make test builds it
// into a cache and sets this).
const KubeBinEnv = "EGRESS_KUBE_BIN"

// APIServer is a real etcd and kube-apiserver running inside a test
// namespace, listening on Addr (that namespace's loopback unless nodes in
// other namespaces must reach it).
type APIServer struct {
	Netns string
	Addr  string
	// Kubeconfig is an admin's; NobodyKubeconfig's user has no rights.
	Kubeconfig, NobodyKubeconfig string
	// Unreachable is a kubeconfig naming a port nothing listens on.
	Unreachable string
	dir         string
	kubectl     string
}

// StartAPIServer starts etcd and kube-apiserver in netns, with a CA,
// serving certificate and tokens made for the test; everything stops when
// the test ends. Without EGRESS_KUBE_BIN the test is skipped (make test
// sets it; a plain go test has no API server to run).
func StartAPIServer(t *testing.T, netns string) *APIServer {
	t.Helper()
	return StartAPIServerOn(t, netns, "127.0.0.1")
}

// StartAPIServerOn is StartAPIServer listening on addr, an address of
// netns, as well as on its loopback; kubeconfigs name addr.
func StartAPIServerOn(t *testing.T, netns, addr string) *APIServer {
	t.Helper()
	bin := os.Getenv(KubeBinEnv)
	if bin == "" {
		t.Skipf("%s is not set: no kube-apiserver to test against (make test builds one)", KubeBinEnv)
	}
	kas := filepath.Join(bin, "kube-apiserver")
	if _, err := os.Stat(kas); err != nil {
		t.Fatalf("%s=%s: %v", KubeBinEnv, bin, err)
	}
	etcd, err := exec.LookPath("etcd")
	if err != nil {
		t.Fatalf("etcd is not installed (deps installs etcd-server): %v", err)
	}
	d := t.TempDir()
	a := &APIServer{Netns: netns, Addr: addr, dir: d, kubectl: "kubectl"}
	bind := addr
	if addr != "127.0.0.1" {
		bind = "0.0.0.0"
	}
	// make kube builds kubectl of the same version; else the machine's.
	if _, err := os.Stat(filepath.Join(bin, "kubectl")); err == nil {
		a.kubectl = filepath.Join(bin, "kubectl")
	}
	if err := a.certs(); err != nil {
		t.Fatal(err)
	}
	start := func(name string, argv ...string) { startDaemon(t, d, netns, name, argv...) }
	start("etcd", etcd, "--name", "t", "--data-dir", filepath.Join(d, "etcd"),
		"--listen-client-urls", "http://127.0.0.1:23790", "--advertise-client-urls", "http://127.0.0.1:23790",
		"--listen-peer-urls", "http://127.0.0.1:23800", "--initial-advertise-peer-urls", "http://127.0.0.1:23800",
		"--initial-cluster", "t=http://127.0.0.1:23800")
	start("kube-apiserver", kas, "--etcd-servers=http://127.0.0.1:23790",
		"--bind-address="+bind, "--advertise-address="+addr, "--secure-port=16443",
		"--tls-cert-file="+filepath.Join(d, "apiserver.crt"), "--tls-private-key-file="+filepath.Join(d, "apiserver.key"),
		"--cert-dir="+d, "--client-ca-file="+filepath.Join(d, "ca.crt"),
		"--token-auth-file="+filepath.Join(d, "tokens.csv"), "--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-account-key-file="+filepath.Join(d, "sa.pub"), "--service-account-signing-key-file="+filepath.Join(d, "sa.key"),
		"--service-cluster-ip-range="+testnet.ServiceCIDR, "--endpoint-reconciler-type=none", "--enable-priority-and-fairness=false")
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := a.Kubectl("get", "--raw", "/readyz"); err == nil {
			return a
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(filepath.Join(d, "kube-apiserver.log"))
			lines := strings.Split(string(b), "\n")
			if len(lines) > 20 {
				lines = lines[len(lines)-20:]
			}
			t.Fatalf("kube-apiserver not ready in 60 s:\n%s", strings.Join(lines, "\n"))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// startDaemon runs a server in a namespace, logging to dir/name.log, and
// kills it when the test ends (the servers keep nothing outside dir).
func startDaemon(t *testing.T, dir, netns, name string, argv ...string) {
	t.Helper()
	logf, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("nsenter", append([]string{"--net=" + Path(netns)}, argv...)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logf.Close()
	})
}

// Kubectl runs kubectl as the admin, inside the API server's namespace.
func (a *APIServer) Kubectl(args ...string) (string, error) {
	argv := append([]string{"--net=" + Path(a.Netns), a.kubectl, "--kubeconfig", a.Kubeconfig}, args...)
	out, err := exec.Command("nsenter", argv...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("kubectl %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// Apply feeds a manifest to kubectl apply.
func (a *APIServer) Apply(t *testing.T, manifest string) {
	t.Helper()
	cmd := exec.Command("nsenter", "--net="+Path(a.Netns), a.kubectl, "--kubeconfig", a.Kubeconfig, "apply", "-f", "-")
	cmd.Stdin = strings.NewReader(manifest)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kubectl apply: %v: %s", err, out)
	}
}

func writePEM(path, typ string, der []byte) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600)
}

// certs makes the CA, the serving certificate for 127.0.0.1 and Addr, the
// service-account key pair, the token file and the kubeconfigs.
func (a *APIServer) certs() error {
	d := a.dir
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	now := time.Now()
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "egress-test-ca"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(48 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		return err
	}
	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	srv := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "kube-apiserver"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(48 * time.Hour), IPAddresses: []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP(a.Addr)},
		DNSNames: []string{"localhost"}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature}
	caCert, _ := x509.ParseCertificate(caDER)
	srvDER, err := x509.CreateCertificate(rand.Reader, srv, caCert, &srvKey.PublicKey, caKey)
	if err != nil {
		return err
	}
	srvKeyDER, _ := x509.MarshalECPrivateKey(srvKey)
	saKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	saPub, _ := x509.MarshalPKIXPublicKey(&saKey.PublicKey)
	for _, f := range []struct {
		name, typ string
		der       []byte
	}{{"ca.crt", "CERTIFICATE", caDER}, {"apiserver.crt", "CERTIFICATE", srvDER}, {"apiserver.key", "EC PRIVATE KEY", srvKeyDER},
		{"sa.key", "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(saKey)}, {"sa.pub", "PUBLIC KEY", saPub}} {
		if err := writePEM(filepath.Join(d, f.name), f.typ, f.der); err != nil {
			return err
		}
	}
	tokens := "admin-token,admin,admin-uid,system:masters\nnobody-token,nobody,nobody-uid\n"
	if err := os.WriteFile(filepath.Join(d, "tokens.csv"), []byte(tokens), 0o600); err != nil {
		return err
	}
	kc := func(name, port, token string) (string, error) {
		p := filepath.Join(d, name+".kubeconfig")
		body := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: t
  cluster: {server: "https://%s", certificate-authority: %s}
users:
- name: u
  user: {token: %s}
contexts:
- name: t
  context: {cluster: t, user: u}
current-context: t
`, net.JoinHostPort(a.Addr, port), filepath.Join(d, "ca.crt"), token)
		return p, os.WriteFile(p, []byte(body), 0o600)
	}
	if a.Kubeconfig, err = kc("admin", "16443", "admin-token"); err != nil {
		return err
	}
	if a.NobodyKubeconfig, err = kc("nobody", "16443", "nobody-token"); err != nil {
		return err
	}
	a.Unreachable, err = kc("unreachable", "16999", "admin-token")
	return err
}
