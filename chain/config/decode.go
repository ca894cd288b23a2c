package config

import (
	"encoding/json"
	"errors"
	"reflect"

	"github.com/egress-router/egress-router/chain/cnierr"
	"github.com/egress-router/egress-router/chain/jsonx"
)

// decode parses a config into v strictly (see jsonx): JSON that is not
// well formed is a decoding failure (code 6); a known key in another
// case, a key repeated in one object, or a value of the wrong kind is an
// invalid config (code 7) whose message names the key path. Unknown keys
// are allowed: runtimes add their own.
func decode(data []byte, v any) error {
	err := jsonx.Decode(data, v, jsonx.Options{Unknown: true, Kinds: kinds})
	var se *jsonx.SyntaxError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &se):
		return cnierr.Decode(se.Err)
	}
	return cnierr.Config("invalid network configuration: %v", err)
}

// kinds are our JSON types that accept more than one kind of value.
var kinds = map[reflect.Type]jsonx.Kind{
	reflect.TypeOf(Strings(nil)): {Want: wantStrings, OK: func(v any) bool {
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
	reflect.TypeOf(Arg("")): {Want: wantArg, OK: func(v any) bool {
		switch v.(type) {
		case string, json.Number, bool:
			return true
		}
		return false
	}},
}
