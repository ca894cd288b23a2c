package plugin

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/containernetworking/cni/pkg/version"
)

// VERSION echoes the version it was asked at, and answers the library's
// newest when asked at none.
func TestAnswerVersion(t *testing.T) {
	for in, want := range map[string]string{
		`{"cniVersion":"0.4.0"}`: "0.4.0",
		`{"cniVersion":"1.1.0"}`: "1.1.0",
		``:                       version.Current(),
		`{"cniVersion":`:         version.Current(),
	} {
		var out bytes.Buffer
		if err := answerVersion(strings.NewReader(in), &out); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		var got struct {
			CNIVersion        string   `json:"cniVersion"`
			SupportedVersions []string `json:"supportedVersions"`
		}
		if err := json.Unmarshal(out.Bytes(), &got); err != nil || got.CNIVersion != want || len(got.SupportedVersions) != 5 {
			t.Errorf("%q: answered %s (%v), want cniVersion %s and our 5 versions", in, out.String(), err, want)
		}
	}
}
