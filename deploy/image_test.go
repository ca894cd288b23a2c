package deploy_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/egress-router/egress-router/chain/nstest"
)

// finalStage reads a Containerfile's last stage as the image it makes:
// where each copied file lands (path → base name of its source) and the
// USER, ENTRYPOINT and CMD lines.
func finalStage(t *testing.T, name string) (files map[string]string, settings []string) {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	last := 0
	for i, l := range lines {
		if strings.HasPrefix(l, "FROM ") {
			last = i
		}
	}
	files = map[string]string{}
	for _, l := range lines[last:] {
		f := strings.Fields(l)
		switch {
		case len(f) == 0:
		case f[0] == "FROM":
			settings = append(settings, l)
		case f[0] == "COPY":
			args := f[1:]
			if strings.HasPrefix(args[0], "--from=") {
				args = args[1:]
			}
			dst := args[len(args)-1]
			for _, src := range args[:len(args)-1] {
				to := dst
				if strings.HasSuffix(dst, "/") {
					to = dst + filepath.Base(src)
				}
				files[to] = filepath.Base(src)
			}
		case f[0] == "USER" || f[0] == "ENTRYPOINT" || f[0] == "CMD":
			settings = append(settings, l)
		}
	}
	return files, settings
}

// The public multi-stage build and the offline one make the same image.
func TestContainerfilesAgree(t *testing.T) {
	pubFiles, pubSettings := finalStage(t, "Containerfile")
	locFiles, locSettings := finalStage(t, "Containerfile.local")
	if !reflect.DeepEqual(pubFiles, locFiles) {
		t.Errorf("files differ:\n  Containerfile:       %v\n  Containerfile.local: %v", pubFiles, locFiles)
	}
	if !reflect.DeepEqual(pubSettings, locSettings) {
		t.Errorf("final stages differ:\n  Containerfile:       %q\n  Containerfile.local: %q", pubSettings, locSettings)
	}
	if len(pubFiles) != 9 {
		t.Errorf("the image holds %d files, want the 7 plugins, egress-install and egress-proxy: %v", len(pubFiles), pubFiles)
	}
}

// imageConfig is the part of an OCI image config the installer relies on.
type imageConfig struct {
	User       string
	Entrypoint []string
	Cmd        []string
}

// readOCI reads an OCI archive (podman save --format oci-archive): the
// image's config and its files (path → sha256 of the content).
func readOCI(t *testing.T, archive string) (string, imageConfig, map[string]string) {
	t.Helper()
	blobs := map[string][]byte{}
	var index []byte
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	eachFile(t, f, func(h *tar.Header, r io.Reader) {
		b, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case h.Name == "index.json":
			index = b
		case strings.HasPrefix(h.Name, "blobs/sha256/"):
			blobs["sha256:"+filepath.Base(h.Name)] = b
		}
	})
	type desc struct {
		MediaType   string            `json:"mediaType"`
		Digest      string            `json:"digest"`
		Annotations map[string]string `json:"annotations"`
	}
	var idx struct{ Manifests []desc }
	if err := json.Unmarshal(index, &idx); err != nil || len(idx.Manifests) != 1 {
		t.Fatalf("index.json: %v %s", err, index)
	}
	var man struct {
		Config desc
		Layers []desc
	}
	if err := json.Unmarshal(blobs[idx.Manifests[0].Digest], &man); err != nil {
		t.Fatal(err)
	}
	var cfg struct{ Config imageConfig }
	if err := json.Unmarshal(blobs[man.Config.Digest], &cfg); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, l := range man.Layers {
		var r io.Reader = bytes.NewReader(blobs[l.Digest])
		if strings.HasSuffix(l.MediaType, "gzip") {
			if r, err = gzip.NewReader(r); err != nil {
				t.Fatal(err)
			}
		}
		eachFile(t, r, func(h *tar.Header, r io.Reader) {
			if h.Mode&0o111 == 0 {
				t.Errorf("%s is not executable (mode %o)", h.Name, h.Mode)
			}
			sum := sha256.New()
			if _, err := io.Copy(sum, r); err != nil {
				t.Fatal(err)
			}
			files["/"+strings.TrimPrefix(h.Name, "/")] = hex.EncodeToString(sum.Sum(nil))
		})
	}
	return idx.Manifests[0].Annotations["org.opencontainers.image.ref.name"], cfg.Config, files
}

// eachFile calls f for each regular file of a tar stream.
func eachFile(t *testing.T, r io.Reader, f func(*tar.Header, io.Reader)) {
	t.Helper()
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			f(h, tr)
		}
	}
}

// jsonList writes a list as a Containerfile's exec form does.
func jsonList(l []string) string {
	b, _ := json.Marshal(l)
	return strings.ReplaceAll(string(b), `","`, `", "`)
}

func sha256File(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// buildImage builds the installer image from the binaries in bin, as
// make image does, into dir.
func buildImage(t *testing.T, bin, name, dir string) string {
	t.Helper()
	out := filepath.Join(dir, "image.tar")
	if b, err := exec.Command("bash", "local/image.sh", bin, name, out).CombinedOutput(); err != nil {
		t.Fatalf("local/image.sh: %v\n%s", err, b)
	}
	return out
}

// make image's image holds exactly what the Containerfiles say, byte for
// byte the binaries make build made, and starts the installer.
func TestImage(t *testing.T) {
	bin := nstest.BinDir(t)
	name := "ghcr.io/egress-router/egress-router-cni:test"
	ref, cfg, files := readOCI(t, buildImage(t, bin, name, t.TempDir()))
	if ref != name {
		t.Errorf("image named %q, want %q", ref, name)
	}
	want, settings := finalStage(t, "Containerfile")
	var paths []string
	for p, src := range want {
		paths = append(paths, p)
		if got, ok := files[p]; !ok {
			t.Errorf("%s is missing from the image", p)
		} else if w := sha256File(t, filepath.Join(bin, src)); got != w {
			t.Errorf("%s differs from %s", p, filepath.Join(bin, src))
		}
	}
	for p := range files {
		if _, ok := want[p]; !ok {
			t.Errorf("the image holds %s, which no Containerfile copies", p)
		}
	}
	sort.Strings(paths)
	// The config as the Containerfile's lines would write it.
	got := []string{"FROM scratch", "USER " + cfg.User, "ENTRYPOINT " + jsonList(cfg.Entrypoint), "CMD " + jsonList(cfg.Cmd)}
	if !reflect.DeepEqual(got, settings) {
		t.Errorf("image config %q, want the Containerfile's %q", got, settings)
	}
	t.Logf("image %s: %s", name, strings.Join(paths, " "))
}
