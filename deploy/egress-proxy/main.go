// egress-proxy is the proxy container of the HTTP and DNS proxy recipes
// (deploy/recipes): the legacy egress router's HTTP proxy and DNS proxy
// modes, as a container in an egress router pod whose attachment has no
// redirect rules. Everything the pod opens itself leaves from the reserved
// address, so the proxy only has to decide what to let through: an
// allow-list of host names.
//
//	egress-proxy http -listen :3128 -allow 'www.example.com,*.example.org' [-connect-ports 443] [-map NAME=IP ...]
//	egress-proxy dns  -listen :53 -upstream 192.168.12.53:53 -allow 'example.com,*.example.org'
//
// -check parses the flags and exits: 0 when they are good.
// Logs go to stderr.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"strconv"
	"strings"
	"time"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "egress-proxy:", err)
		os.Exit(2)
	}
}

// hostMap collects -map NAME=IP flags: fixed answers that skip DNS, as
// /etc/hosts entries would.
type hostMap map[string]string

func (m hostMap) String() string { return fmt.Sprint(map[string]string(m)) }
func (m hostMap) Set(v string) error {
	name, ip, ok := strings.Cut(v, "=")
	if !ok || name == "" || ip == "" {
		return fmt.Errorf("-map %q: want NAME=IP", v)
	}
	m[canonical(name)] = ip
	return nil
}

func run(argv []string) error {
	if len(argv) == 0 || (argv[0] != "http" && argv[0] != "dns") {
		return fmt.Errorf("usage: egress-proxy http|dns [flags] (see -h)")
	}
	mode := argv[0]
	fs := flag.NewFlagSet(mode, flag.ContinueOnError)
	listen := fs.String("listen", map[string]string{"http": ":3128", "dns": ":53"}[mode], "address to listen on")
	allowFlag := fs.String("allow", "", "host names let through, comma-separated; *.example.com matches its subdomains")
	upstream := fs.String("upstream", "", "dns: the DNS server queries are forwarded to (IP:PORT)")
	ports := fs.String("connect-ports", "443", "http: ports CONNECT may reach, comma-separated")
	timeout := fs.Duration("timeout", 10*time.Second, "how long to wait for the far end")
	check := fs.Bool("check", false, "check the flags and exit, without listening")
	hosts := hostMap{}
	fs.Var(hosts, "map", "http: NAME=IP, a fixed address for a name (repeatable)")
	if err := fs.Parse(argv[1:]); err != nil {
		return err
	}
	allow, err := parseAllow(*allowFlag)
	if err != nil {
		return err
	}
	if *check {
		if mode == "dns" && *upstream == "" {
			return fmt.Errorf("dns: -upstream is required")
		}
		_, err := parsePorts(*ports)
		return err
	}
	logger := log.New(os.Stderr, "egress-proxy "+mode+": ", log.LstdFlags)
	switch mode {
	case "http":
		cp, err := parsePorts(*ports)
		if err != nil {
			return err
		}
		return serveHTTP(*listen, &httpProxy{allow: allow, connectPorts: cp, hosts: hosts, timeout: *timeout, log: logger})
	default:
		if *upstream == "" {
			return fmt.Errorf("dns: -upstream is required")
		}
		return serveDNS(*listen, &dnsForwarder{allow: allow, upstream: *upstream, timeout: *timeout, log: logger})
	}
}

func parsePorts(s string) (map[int]bool, error) {
	cp := map[int]bool{}
	for _, p := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("-connect-ports: %q is not a port", p)
		}
		cp[n] = true
	}
	return cp, nil
}
