package cnierr

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/containernetworking/cni/pkg/types"

	"github.com/egress-router/egress-router/chain/cnierr/cnierrtest"
)

// strictField fails to decode anything but a JSON string.
type strictField string

func (s *strictField) UnmarshalJSON(b []byte) error {
	if len(b) == 0 || b[0] != '"' {
		return fmt.Errorf("mode: want a string, got %s", b)
	}
	*s = strictField(strings.Trim(string(b), `"`))
	return nil
}

type testConf struct {
	Name string      `json:"name"`
	MTU  int         `json:"mtu"`
	Mode strictField `json:"mode"`
}

func TestUnmarshal(t *testing.T) {
	cases := []struct {
		name  string
		input string
		want  testConf
		code  uint // 0 = no error
		frag  []string
	}{
		{name: "valid", input: `{"name": "egress", "mtu": 1400, "mode": "bridge"}`, want: testConf{Name: "egress", MTU: 1400, Mode: "bridge"}},
		{name: "unknown fields are ignored", input: `{"name": "egress", "extra": [1, 2]}`, want: testConf{Name: "egress"}},
		{name: "null", input: `null`},
		{name: "truncated object", input: `{"name": "egress"`, code: types.ErrDecodingFailure, frag: []string{"failed to parse network configuration"}},
		{name: "empty input", input: ``, code: types.ErrDecodingFailure, frag: []string{"failed to parse network configuration"}},
		{name: "trailing garbage", input: `{"name": "egress"} x`, code: types.ErrDecodingFailure, frag: []string{"failed to parse network configuration"}},
		{name: "single quotes", input: `{'name': 'egress'}`, code: types.ErrDecodingFailure, frag: []string{"failed to parse network configuration"}},
		{name: "string for a number", input: `{"mtu": "1400"}`, code: types.ErrInvalidNetworkConfig, frag: []string{"invalid network configuration", "mtu"}},
		{name: "array for the object", input: `[1, 2]`, code: types.ErrInvalidNetworkConfig, frag: []string{"invalid network configuration"}},
		{name: "field's own decoder fails", input: `{"mode": 3}`, code: types.ErrInvalidNetworkConfig, frag: []string{"invalid network configuration", "mode: want a string, got 3"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got testConf
			err := Unmarshal([]byte(c.input), &got)
			if c.code != 0 {
				if err == nil {
					t.Fatalf("no error; decoded %+v", got)
				}
				cnierrtest.Want(t, err, c.code, c.frag...)
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if got != c.want {
				t.Errorf("decoded %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestPrefix(t *testing.T) {
	plain := errors.New("file exists")
	cases := []struct {
		name    string
		err     error
		code    uint // 0 = a plain error is expected
		msg     string
		details string
		// loose: the message need only start with the prefix and end
		// with msg (what lies between is not part of the contract).
		loose bool
	}{
		{name: "config error", err: Config("source %q is bad", "x"), code: 7, msg: `egress-nat: source "x" is bad`},
		{name: "I/O error keeps code 5", err: IO("cannot write %s", "/proc/x"), code: 5, msg: "egress-nat: cannot write /proc/x"},
		{name: "details are kept", err: types.NewError(11, "try again", "busy"), code: 11, msg: "egress-nat: try again", details: "busy"},
		{name: "wrapped CNI error keeps its code", err: fmt.Errorf("step: %w", Env("CNI_NETNS missing")), code: 4, msg: "CNI_NETNS missing", loose: true},
		{name: "plain error", err: plain, msg: "egress-nat: file exists"},
		{name: "prefixed twice", err: Prefix("apply", Config("bad")), code: 7, msg: "egress-nat: apply: bad"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Prefix("egress-nat", c.err)
			if got == nil {
				t.Fatal("nil error")
			}
			if c.code == 0 {
				if _, ok := got.(*types.Error); ok {
					t.Errorf("plain error became a CNI error: %v", got)
				}
				if got.Error() != c.msg {
					t.Errorf("message %q, want %q", got.Error(), c.msg)
				}
				if !errors.Is(got, c.err) {
					t.Errorf("%v does not wrap %v", got, c.err)
				}
				return
			}
			te := cnierrtest.Want(t, got, c.code)
			if c.loose {
				if !strings.HasPrefix(te.Msg, "egress-nat: ") || !strings.HasSuffix(te.Msg, c.msg) {
					t.Errorf("message %q, want egress-nat: ...%s", te.Msg, c.msg)
				}
				return
			}
			if te.Msg != c.msg || te.Details != c.details {
				t.Errorf("message %q details %q, want %q %q", te.Msg, te.Details, c.msg, c.details)
			}
		})
	}
	if err := Prefix("egress-nat", nil); err != nil {
		t.Errorf("Prefix(nil) = %v", err)
	}
}

func TestConstructors(t *testing.T) {
	cases := []struct {
		err  *types.Error
		code uint
		msg  string
	}{
		{Config("%s %q is bad", "gateway", "x"), types.ErrInvalidNetworkConfig, `gateway "x" is bad`},
		{Env("CNI_%s is missing", "NETNS"), types.ErrInvalidEnvironmentVariables, "CNI_NETNS is missing"},
		{Decode(errors.New("unexpected end")), types.ErrDecodingFailure, "failed to parse network configuration: unexpected end"},
		{IO("cannot open %s", "/run/x"), types.ErrIOFailure, "cannot open /run/x"},
		{TryAgain("API server %s unreachable", "10.0.0.1"), types.ErrTryAgainLater, "API server 10.0.0.1 unreachable"},
		{NotAvailable("nftables: %v", "no"), types.ErrPluginNotAvailable, "nftables: no"},
	}
	for _, c := range cases {
		if c.err.Code != c.code || c.err.Msg != c.msg {
			t.Errorf("got code %d %q, want %d %q", c.err.Code, c.err.Msg, c.code, c.msg)
		}
	}
}
