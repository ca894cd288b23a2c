package egressrouter

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/egress-router/egress-router/chain/jsonx"
)

// ParseAll reads a YAML stream of EgressRouters (documents separated by
// ---), as kubectl would take them.
func ParseAll(b []byte) ([]*EgressRouter, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(b)))
	var out []*EgressRouter
	for i := 0; ; i++ {
		doc, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		er, err := Parse(doc)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		out = append(out, er)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no EgressRouter in the input")
	}
	return out, nil
}

// Parse reads one EgressRouter in YAML or JSON and checks it as the CRD's
// schema does (enums, formats, ranges, Redirect requiring redirect), plus
// what the operator needs but the schema leaves out (an address, each ip a
// CIDR) and what rendering needs (a name). Defaults are filled in. Every
// problem is reported, each naming its field and value.
func Parse(b []byte) (*EgressRouter, error) {
	j, err := yaml.YAMLToJSONStrict(b)
	if err != nil {
		return nil, fmt.Errorf("EgressRouter: not YAML or JSON: %w", err)
	}
	// Strict as the API server is: keys in their exact case, none
	// repeated, none unknown.
	er := &EgressRouter{}
	if err := jsonx.Decode(j, er, jsonx.Options{}); err != nil {
		return nil, fmt.Errorf("EgressRouter: %w", err)
	}
	if err := er.validate(); err != nil {
		return nil, err
	}
	return er, nil
}

func (er *EgressRouter) validate() error {
	var errs []error
	bad := func(field string, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{field}, a...)...))
	}
	if er.APIVersion != APIVersion || er.Kind != Kind {
		bad("apiVersion/kind", "%q/%q, want %s/%s", er.APIVersion, er.Kind, APIVersion, Kind)
	}
	// The objects rendered are named after it (the Service's name is the
	// strictest: a DNS label).
	if er.Name == "" {
		bad("metadata.name", "missing")
	} else if msgs := validation.IsDNS1035Label(er.Name); len(msgs) > 0 {
		bad("metadata.name", "%q: %s", er.Name, strings.Join(msgs, "; "))
	}
	s := &er.Spec
	if s.Mode == "" {
		s.Mode = "Redirect"
	}
	if s.Mode != "Redirect" {
		bad("spec.mode", "%q: supported value is \"Redirect\"", s.Mode)
	}
	if s.Mode == "Redirect" && s.Redirect == nil {
		bad("spec.redirect", "missing; mode Redirect requires it")
	}
	if r := s.Redirect; r != nil {
		for i, rule := range r.RedirectRules {
			f := fmt.Sprintf("spec.redirect.redirectRules[%d]", i)
			if rule.DestinationIP == "" {
				bad(f+".destinationIP", "missing")
			} else if net.ParseIP(rule.DestinationIP) == nil {
				bad(f+".destinationIP", "%q is not an IPv4 or IPv6 address", rule.DestinationIP)
			}
			if rule.Port == nil {
				bad(f+".port", "missing")
			} else if *rule.Port < 1 || *rule.Port > 65535 {
				bad(f+".port", "%d is not in 1-65535", *rule.Port)
			}
			switch rule.Protocol {
			case "TCP", "UDP", "SCTP":
			case "":
				bad(f+".protocol", "missing")
			default:
				bad(f+".protocol", "%q: supported values are \"TCP\", \"UDP\", \"SCTP\"", rule.Protocol)
			}
			if p := rule.TargetPort; p != nil && (*p < 1 || *p > 65535) {
				bad(f+".targetPort", "%d is not in 1-65535", *p)
			}
		}
		if r.FallbackIP != "" && net.ParseIP(r.FallbackIP) == nil {
			bad("spec.redirect.fallbackIP", "%q is not an IPv4 or IPv6 address", r.FallbackIP)
		}
	}
	if s.NetworkInterface == nil {
		s.NetworkInterface = &NetworkInterface{}
	}
	if s.NetworkInterface.Macvlan == nil {
		s.NetworkInterface.Macvlan = &Macvlan{}
	}
	m := s.NetworkInterface.Macvlan
	if m.Mode == "" {
		m.Mode = "Bridge"
	}
	switch m.Mode {
	case "Bridge", "Private", "VEPA", "Passthru":
	default:
		bad("spec.networkInterface.macvlan.mode", "%q: supported values are \"Bridge\", \"Private\", \"VEPA\", \"Passthru\"", m.Mode)
	}
	if len(s.Addresses) == 0 {
		bad("spec.addresses", "missing; the router needs its reserved address")
	}
	for i, a := range s.Addresses {
		f := fmt.Sprintf("spec.addresses[%d]", i)
		if a.IP == "" {
			bad(f+".ip", "missing")
		} else if _, _, err := net.ParseCIDR(a.IP); err != nil {
			bad(f+".ip", "%q is not an address with its prefix length (192.168.12.99/24)", a.IP)
		}
		if a.Gateway != "" && net.ParseIP(a.Gateway) == nil {
			bad(f+".gateway", "%q is not an IPv4 or IPv6 address", a.Gateway)
		}
	}
	return errors.Join(errs...)
}
