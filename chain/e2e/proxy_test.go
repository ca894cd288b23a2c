package e2e

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/egress-router/egress-router/chain/nstest"
	"github.com/egress-router/egress-router/chain/testnet"
)

// TestProxyRecipes is deploy/recipes: the legacy router's HTTP proxy and
// DNS proxy modes as a composition. The router's attachment has no
// redirect rules (routes only), and egress-proxy runs in the router pod:
// what it fetches or forwards leaves from the reserved address, and its
// allow-list refuses the rest.
func TestProxyRecipes(t *testing.T) {
	topo := up(t)
	bin := nstest.BinDir(t)
	proxy := filepath.Join(bin, "egress-proxy")
	if _, err := os.Stat(proxy); err != nil {
		t.Fatalf("egress-proxy (make build): %v", err)
	}
	r := newLibcni(t, topo, []byte(`{"cniVersion": "1.0.0", "name": "egress-router", "plugins": [
  {"type": "egress-router", "interfaceArgs": {"master": "ext0"}, "clusterCIDRs": ["10.128.0.0/14"],
   "ip": {"addresses": ["192.168.12.99/24"], "gateway": "192.168.12.1", "destinations": []}}]}`))
	if _, err := r.add(t, topo); err != nil {
		t.Fatalf("ADD: %v", err)
	}
	t.Cleanup(func() {
		if err := r.del(t, topo); err != nil {
			t.Errorf("DEL: %v", err)
		}
	})

	// The far side: an HTTP server that answers with the peer it saw, a
	// TCP server for CONNECT, and a DNS server.
	servers := map[string]*nstest.Server{}
	for proto, port := range map[string]string{"http": "80", "tcp": "8443", "dns": "53"} {
		srv, err := nstest.Serve(topo.Far, proto, testnet.FarServerIP+":"+port)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(srv.Close)
		servers[proto] = srv
	}
	web, tunnelEnd, dnsSrv := servers["http"], servers["tcp"], servers["dns"]

	startIn(t, topo.Router, proxy, "http", "-listen", testnet.RouterPodIP+":3128", "-allow", "far.example,*.allowed.example",
		"-connect-ports", "443,8443", "-map", "far.example="+testnet.FarServerIP, "-map", "www.allowed.example="+testnet.FarServerIP,
		"-map", "other.example="+testnet.FarServerIP)
	startIn(t, topo.Router, proxy, "dns", "-listen", testnet.RouterPodIP+":53", "-upstream", testnet.FarServerIP+":53", "-allow", "far.example")
	hp := testnet.RouterPodIP + ":3128"

	t.Run("http", func(t *testing.T) {
		for _, host := range []string{"far.example", "www.allowed.example"} {
			status, body := proxyRequest(t, topo.Client, hp, "GET http://"+host+"/ HTTP/1.1\r\nHost: "+host+"\r\nConnection: close\r\n\r\n")
			if status != 200 || nstest.SourceIP(body) != testnet.ReservedIP {
				t.Errorf("GET http://%s/ through the proxy: %d %q, want 200 and the reserved %s", host, status, body, testnet.ReservedIP)
			}
		}
		n := len(web.Peers())
		for _, req := range []string{
			"GET http://other.example/ HTTP/1.1\r\nHost: other.example\r\nConnection: close\r\n\r\n",
			"GET http://" + testnet.FarServerIP + "/ HTTP/1.1\r\nHost: " + testnet.FarServerIP + "\r\nConnection: close\r\n\r\n",
			"GET http://allowed.example/ HTTP/1.1\r\nHost: allowed.example\r\nConnection: close\r\n\r\n",
		} {
			if status, body := proxyRequest(t, topo.Client, hp, req); status != 403 {
				t.Errorf("%q: %d %q, want 403", strings.SplitN(req, "\r\n", 2)[0], status, body)
			}
		}
		if len(web.Peers()) != n {
			t.Errorf("refused requests reached the server: %v", web.Peers()[n:])
		}
	})
	t.Run("connect", func(t *testing.T) {
		status, rest := proxyRequest(t, topo.Client, hp, "CONNECT far.example:8443 HTTP/1.1\r\nHost: far.example:8443\r\n\r\n")
		if status != 200 || nstest.SourceIP(rest) != testnet.ReservedIP {
			t.Errorf("CONNECT far.example:8443: %d, the far end saw %q, want 200 and %s", status, rest, testnet.ReservedIP)
		}
		n := len(tunnelEnd.Peers())
		for _, target := range []string{"other.example:8443", "far.example:22"} {
			if status, _ := proxyRequest(t, topo.Client, hp, "CONNECT "+target+" HTTP/1.1\r\nHost: "+target+"\r\n\r\n"); status != 403 {
				t.Errorf("CONNECT %s: %d, want 403", target, status)
			}
		}
		if len(tunnelEnd.Peers()) != n {
			t.Errorf("refused tunnels reached the far end: %v", tunnelEnd.Peers()[n:])
		}
	})
	t.Run("dns", func(t *testing.T) {
		rcode, answers := dnsQuery(t, topo.Client, testnet.RouterPodIP+":53", "far.example.")
		if rcode != dnsmessage.RCodeSuccess || len(answers) != 1 || answers[0] != testnet.FarServerIP {
			t.Errorf("far.example: %v %v, want success and %s", rcode, answers, testnet.FarServerIP)
		}
		if saw := dnsSrv.Peers(); len(saw) != 1 || nstest.SourceIP(saw[0]) != testnet.ReservedIP {
			t.Errorf("the DNS server saw %v, want one query from %s", saw, testnet.ReservedIP)
		}
		if rcode, _ := dnsQuery(t, topo.Client, testnet.RouterPodIP+":53", "evil.example."); rcode != dnsmessage.RCodeRefused {
			t.Errorf("evil.example: %v, want REFUSED", rcode)
		}
		if saw := dnsSrv.Peers(); len(saw) != 1 {
			t.Errorf("a refused query reached the DNS server: %v", saw)
		}
	})
}

// startIn runs a command in a namespace until the test ends, and waits
// for it to listen (its address is the first -listen flag's).
func startIn(t *testing.T, netns string, argv ...string) {
	t.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", netns}, argv...)...)
	// The command writes while the loop below reads.
	log := &lockedLog{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		t.Logf("%s:\n%s", argv[1], log.String())
	})
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(log.String(), "listening on") {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not start: %s", strings.Join(argv, " "), log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// inNS runs f with the calling thread in netns; sockets made there stay
// there.
func inNS(t *testing.T, netns string, f func() error) {
	t.Helper()
	if err := inNetns(t, netns, f); err != nil {
		t.Fatal(err)
	}
}

// proxyRequest sends a raw request to the proxy from netns and returns
// the status and, for a tunnel, the first line the far end sent; else the
// body.
func proxyRequest(t *testing.T, netns, proxy, req string) (int, string) {
	t.Helper()
	var c net.Conn
	inNS(t, netns, func() (err error) {
		c, err = net.DialTimeout("tcp", proxy, 3*time.Second)
		return err
	})
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, &http.Request{Method: strings.Fields(req)[0]})
	if err != nil {
		t.Fatalf("%q: %v", strings.SplitN(req, "\r\n", 2)[0], err)
	}
	if resp.StatusCode == 200 && strings.HasPrefix(req, "CONNECT") {
		line, _ := br.ReadString('\n')
		return 200, strings.TrimSpace(line)
	}
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

// dnsQuery asks server for name's A records from netns.
func dnsQuery(t *testing.T, netns, server, name string) (dnsmessage.RCode, []string) {
	t.Helper()
	q := dnsmessage.Message{Header: dnsmessage.Header{ID: 4711, RecursionDesired: true},
		Questions: []dnsmessage.Question{{Name: dnsmessage.MustNewName(name), Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET}}}
	b, err := q.Pack()
	if err != nil {
		t.Fatal(err)
	}
	var c net.Conn
	inNS(t, netns, func() (err error) { c, err = net.Dial("udp", server); return err })
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := c.Write(b); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1500)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("DNS %s via %s from %s: %v", name, server, netns, err)
	}
	var m dnsmessage.Message
	if err := m.Unpack(buf[:n]); err != nil || m.ID != 4711 {
		t.Fatalf("DNS answer: %v (id %d)", err, m.ID)
	}
	var out []string
	for _, a := range m.Answers {
		if r, ok := a.Body.(*dnsmessage.AResource); ok {
			out = append(out, net.IP(r.A[:]).String())
		}
	}
	return m.RCode, out
}

// lockedLog is a command's output, written by exec's copying goroutine
// and read by the test while the command runs.
type lockedLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
