package jsonx

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

type Inner struct {
	Name string `json:"name"`
}

type Embedded struct {
	LogFile string `json:"log_file,omitempty"`
}

type conf struct {
	Type  string           `json:"type"`
	Items []Inner          `json:"items"`
	ByKey map[string]Inner `json:"byKey"`
	Lines lines            `json:"lines"`
	Embedded
	Secret string `json:"-"`
}

type lines []string

var kinds = map[reflect.Type]Kind{reflect.TypeOf(lines(nil)): {Want: "a string list", OK: func(v any) bool {
	_, ok := v.([]any)
	return ok
}}}

func TestDecode(t *testing.T) {
	var c conf
	err := Decode([]byte(`{"type":"x","items":[{"name":"a"}],"byKey":{"k":{"name":"b"}},"lines":["1"],"log_file":"/l","extra":1}`), &c, Options{Unknown: true, Kinds: kinds})
	if err != nil || c.Type != "x" || c.Items[0].Name != "a" || c.ByKey["k"].Name != "b" || c.LogFile != "/l" {
		t.Fatalf("%+v %v", c, err)
	}
	for _, tc := range []struct {
		in, path, frag string
		unknown        bool
		syntax         bool
	}{
		{in: `{"TYPE":"x"}`, path: "TYPE", frag: `write "type"`, unknown: true},
		{in: `{"items":[{"Name":"a"}]}`, path: "items[0].Name", frag: `write "name"`, unknown: true},
		{in: `{"byKey":{"k":{"NAME":"a"}}}`, path: "byKey.k.NAME", frag: `write "name"`, unknown: true},
		{in: `{"LOG_FILE":"/x"}`, path: "LOG_FILE", frag: `write "log_file"`, unknown: true},
		{in: `{"extra":1}`, path: "extra", frag: "unknown key"},
		{in: `{"type":"a","type":"b"}`, path: "type", frag: "appears twice", unknown: true},
		{in: `{"items":[{"name":"a"},{"name":"b","name":"c"}]}`, path: "items[1].name", frag: "appears twice", unknown: true},
		{in: `{"x":{"y":[1,{"z":1,"z":2}]}}`, path: "x.y[1].z", frag: "appears twice", unknown: true},
		{in: `{"lines":"one"}`, path: "lines", frag: `want a string list, got "one"`, unknown: true},
		{in: `{"type":5}`, path: "type", frag: "want string, got number", unknown: true},
		{in: `{"type":`, syntax: true},
		{in: `{} {}`, syntax: true},
	} {
		var c conf
		err := Decode([]byte(tc.in), &c, Options{Unknown: tc.unknown, Kinds: kinds})
		var se *SyntaxError
		var fe *FieldError
		switch {
		case tc.syntax:
			if !errors.As(err, &se) {
				t.Errorf("%s: %v, want a syntax error", tc.in, err)
			}
		case !errors.As(err, &fe) || fe.Path != tc.path || !strings.Contains(fe.Msg, tc.frag):
			t.Errorf("%s: %#v, want %s: %s", tc.in, err, tc.path, tc.frag)
		}
	}
	// The same key in two sibling objects is no duplicate.
	if err := Decode([]byte(`{"items":[{"name":"a"},{"name":"b"}],"byKey":{"a":{"name":"x"},"b":{"name":"y"}}}`), &c, Options{}); err != nil {
		t.Errorf("siblings: %v", err)
	}
}
