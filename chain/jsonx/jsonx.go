// Package jsonx decodes JSON strictly, for configs written by people who
// may mean harm: keys must match the Go type's JSON names exactly (a
// known key in another case is an error, so an admission policy that
// checks exact keys cannot be slipped), no object may repeat a key (so
// what a policy engine reads first is what we read), and values of
// types that accept several kinds say what they want, under their key
// path. encoding/json then does the decoding.
package jsonx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// SyntaxError is JSON that is not well formed.
type SyntaxError struct{ Err error }

func (e *SyntaxError) Error() string { return e.Err.Error() }
func (e *SyntaxError) Unwrap() error { return e.Err }

// FieldError is well-formed JSON with a key or value we refuse.
type FieldError struct {
	Path string // e.g. ip.destinations[2]
	Msg  string
}

func (e *FieldError) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

// Kind is a rule for a type that accepts more than one kind of JSON
// value.
type Kind struct {
	Want string         // what it accepts, for messages
	OK   func(any) bool // on the value decoded with UseNumber
}

// Options adjust Decode.
type Options struct {
	// Unknown allows keys the type does not know (CNI runtimes add their
	// own); without it they are refused.
	Unknown bool
	// Kinds are checked before decoding, by type.
	Kinds map[reflect.Type]Kind
}

// Decode decodes data into v, a pointer.
func Decode(data []byte, v any, o Options) error {
	if !json.Valid(data) {
		err := json.Unmarshal(data, new(any))
		if err == nil {
			err = errors.New("invalid JSON")
		}
		return &SyntaxError{err}
	}
	if err := noDuplicates(data); err != nil {
		return err
	}
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var raw any
	if err := d.Decode(&raw); err != nil {
		return &SyntaxError{err}
	}
	if err := o.walk(raw, reflect.TypeOf(v), ""); err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) {
			return &FieldError{Path: ute.Field, Msg: fmt.Sprintf("want %s, got %s", ute.Type, ute.Value)}
		}
		return &FieldError{Msg: err.Error()}
	}
	return nil
}

// walk checks the raw value v against the Go type t it decodes into.
func (o Options) walk(v any, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if k, ok := o.Kinds[t]; ok {
		if v != nil && !k.OK(v) {
			got, _ := json.Marshal(v)
			return &FieldError{Path: path, Msg: fmt.Sprintf("want %s, got %s", k.Want, got)}
		}
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		fields := Fields(t)
		for key, val := range obj {
			ft, known := fields[key]
			if !known {
				for name := range fields {
					if strings.EqualFold(name, key) {
						return &FieldError{Path: join(path, key), Msg: fmt.Sprintf("unknown key; keys are case-sensitive: write %q", name)}
					}
				}
				if !o.Unknown {
					return &FieldError{Path: join(path, key), Msg: "unknown key"}
				}
				continue
			}
			if err := o.walk(val, ft, join(path, key)); err != nil {
				return err
			}
		}
	case reflect.Map:
		obj, _ := v.(map[string]any)
		for key, val := range obj {
			if err := o.walk(val, t.Elem(), join(path, key)); err != nil {
				return err
			}
		}
	case reflect.Slice:
		arr, _ := v.([]any)
		for i, val := range arr {
			if err := o.walk(val, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
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

// Fields maps a struct's JSON keys to their types, with the fields of
// embedded structs promoted as encoding/json does.
func Fields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if tag == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		if f.Anonymous && tag == "" && f.Type.Kind() == reflect.Struct {
			for k, ft := range Fields(f.Type) {
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

// noDuplicates refuses an object that repeats a key, at any depth.
func noDuplicates(data []byte) error {
	d := json.NewDecoder(bytes.NewReader(data))
	type frame struct {
		obj  bool
		keys map[string]bool
		key  bool // the next string token is a key
		path string
		idx  int
	}
	var stack []*frame
	var last string
	for {
		tok, err := d.Token()
		if err != nil {
			return nil // end of input; syntax was checked before
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		// Where this token stands, for the message.
		here := ""
		if top != nil {
			if top.obj {
				here = join(top.path, last)
			} else {
				here = fmt.Sprintf("%s[%d]", top.path, top.idx)
			}
		}
		if top != nil && top.obj && top.key {
			if k, ok := tok.(string); ok {
				if top.keys[k] {
					return &FieldError{Path: join(top.path, k), Msg: "the key appears twice in one object"}
				}
				top.keys[k] = true
				last, top.key = k, false
				continue
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{obj: true, keys: map[string]bool{}, key: true, path: here})
			continue
		case json.Delim('['):
			stack = append(stack, &frame{path: here})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		// A value ended: the parent moves on.
		if len(stack) > 0 {
			p := stack[len(stack)-1]
			if p.obj {
				p.key = true
			} else {
				p.idx++
			}
		}
	}
}
