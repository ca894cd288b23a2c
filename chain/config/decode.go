package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"github.com/egress-router/egress-router/chain/cnierr"
)

// decode parses a config into v: JSON that is not well formed is a
// decoding failure (code 6); a value of the wrong kind is an invalid
// config (code 7) whose message names the key path. Unknown keys are
// allowed: runtimes add their own.
func decode(data []byte, v any) error {
	if !json.Valid(data) {
		return cnierr.Unmarshal(data, v)
	}
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var raw any
	if err := d.Decode(&raw); err != nil {
		return cnierr.Unmarshal(data, v)
	}
	if err := walk(raw, reflect.TypeOf(v), ""); err != nil {
		return err
	}
	return cnierr.Unmarshal(data, v)
}

// kinds are our JSON types that accept more than one kind of value, and
// what they accept, for messages that say what the key wants.
var kinds = map[reflect.Type]struct {
	want string
	ok   func(any) bool
}{
	reflect.TypeOf(Strings(nil)): {wantStrings, func(v any) bool {
		if _, ok := v.(string); ok {
			return true
		}
		arr, ok := v.([]any)
		for _, e := range arr {
			if _, isStr := e.(string); !isStr {
				return false
			}
		}
		return ok
	}},
	reflect.TypeOf(Arg("")): {wantArg, func(v any) bool {
		switch v.(type) {
		case string, json.Number, bool:
			return true
		}
		return false
	}},
}

// walk checks the raw JSON value v against the Go type t it decodes into.
// Values of kinds encoding/json reports itself pass through.
func walk(v any, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if k, ok := kinds[t]; ok {
		if v != nil && !k.ok(v) {
			got, _ := json.Marshal(v)
			return cnierr.Config("invalid network configuration: %s: want %s, got %s", path, k.want, got)
		}
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		fields := jsonFields(t)
		for key, val := range obj {
			for name, ft := range fields {
				if strings.EqualFold(name, key) {
					if err := walk(val, ft, join(path, key)); err != nil {
						return err
					}
					break
				}
			}
		}
	case reflect.Map:
		obj, _ := v.(map[string]any)
		for key, val := range obj {
			if err := walk(val, t.Elem(), join(path, key)); err != nil {
				return err
			}
		}
	case reflect.Slice:
		arr, _ := v.([]any)
		for i, val := range arr {
			if err := walk(val, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	}
	return nil
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// jsonFields maps a struct's JSON keys to their types, with the fields of
// embedded structs promoted as encoding/json does.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if tag == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		if f.Anonymous && tag == "" && f.Type.Kind() == reflect.Struct {
			for k, ft := range jsonFields(f.Type) {
				if _, shadowed := out[k]; !shadowed {
					out[k] = ft
				}
			}
			continue
		}
		if tag == "" {
			tag = f.Name
		}
		out[tag] = f.Type
	}
	return out
}
