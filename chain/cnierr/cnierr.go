// Package cnierr builds the CNI errors our plugins return, so every failure
// carries a spec error code and a message naming the field and the value.
package cnierr

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/containernetworking/cni/pkg/types"
)

// Config is an invalid network configuration (CNI code 7). The message
// should name the field and the offending value.
func Config(format string, args ...any) *types.Error {
	return types.NewError(types.ErrInvalidNetworkConfig, fmt.Sprintf(format, args...), "")
}

// Env is an invalid or missing runtime environment value (CNI code 4).
func Env(format string, args ...any) *types.Error {
	return types.NewError(types.ErrInvalidEnvironmentVariables, fmt.Sprintf(format, args...), "")
}

// Decode is a configuration that is not valid JSON (CNI code 6).
func Decode(err error) *types.Error {
	return types.NewError(types.ErrDecodingFailure, fmt.Sprintf("failed to parse network configuration: %v", err), "")
}

// IO is a failure to read or change the system (CNI code 5).
func IO(format string, args ...any) *types.Error {
	return types.NewError(types.ErrIOFailure, fmt.Sprintf(format, args...), "")
}

// TryAgain is a transient failure the runtime should retry (CNI code
// 11), e.g. an API server that cannot be reached.
func TryAgain(format string, args ...any) *types.Error {
	return types.NewError(types.ErrTryAgainLater, fmt.Sprintf(format, args...), "")
}

// NotAvailable says the plugin cannot serve ADD now (CNI code 50, for
// STATUS).
func NotAvailable(format string, args ...any) *types.Error {
	return types.NewError(types.ErrPluginNotAvailable, fmt.Sprintf(format, args...), "")
}

// Prefix adds context to err while keeping its CNI code when it has one.
func Prefix(prefix string, err error) error {
	if err == nil {
		return nil
	}
	var te *types.Error
	if errors.As(err, &te) {
		return types.NewError(te.Code, prefix+": "+te.Msg, te.Details)
	}
	return fmt.Errorf("%s: %w", prefix, err)
}

// Unmarshal decodes a JSON config: malformed JSON is a decoding failure
// (code 6); well-formed JSON with a field of the wrong type or value is an
// invalid config (code 7).
func Unmarshal(data []byte, v any) error {
	if !json.Valid(data) {
		err := json.Unmarshal(data, new(any))
		if err == nil {
			err = errors.New("invalid JSON")
		}
		return Decode(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return Config("invalid network configuration: %v", err)
	}
	return nil
}
