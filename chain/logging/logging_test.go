package logging

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
)

func TestParseLevel(t *testing.T) {
	cases := []struct {
		in   string
		want Level
		err  bool
	}{
		{"", Info, false},
		{"error", Error, false},
		{"panic", Error, false},
		{"warning", Warning, false},
		{"warn", Warning, false},
		{"WARNING", Warning, false},
		{"info", Info, false},
		{"Info", Info, false},
		{"debug", Debug, false},
		{"DEBUG", Debug, false},
		{"verbose", Debug, false},
		{"trace", Info, true},
		{" info", Info, true},
		{"4", Info, true},
	}
	for _, c := range cases {
		got, err := ParseLevel(c.in)
		if got != c.want || (err != nil) != c.err {
			t.Errorf("ParseLevel(%q) = %d, %v; want %d, error %v", c.in, got, err, c.want, c.err)
		}
		if err != nil && !strings.Contains(err.Error(), `"`+c.in+`"`) {
			t.Errorf("ParseLevel(%q) error %q does not quote the value", c.in, err)
		}
	}
}

// logAll writes one message at each level.
func logAll(l *Logger) {
	l.Errorf("e %d", 1)
	l.Warningf("w %d", 2)
	l.Infof("i %d", 3)
	l.Debugf("d %d", 4)
}

// tags returns the level tags of the lines in file, after checking each
// line's format.
func tags(t *testing.T, file, prefix string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	line := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z \[(error|warning|info|debug)\] ` + regexp.QuoteMeta(prefix) + `: [ewid] \d$`)
	var out []string
	for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		if l == "" {
			continue
		}
		m := line.FindStringSubmatch(l)
		if m == nil {
			t.Errorf("log line %q is not in the expected format", l)
			continue
		}
		out = append(out, m[2])
	}
	return strings.Join(out, ",")
}

func TestLoggerLevels(t *testing.T) {
	cases := []struct {
		level Level
		want  string
	}{
		{Error, "error"},
		{Warning, "error,warning"},
		{Info, "error,warning,info"},
		{Debug, "error,warning,info,debug"},
	}
	for _, c := range cases {
		file := filepath.Join(t.TempDir(), "plugin.log")
		l := New("egress-nat", file, c.level)
		logAll(l)
		l.Close()
		if got := tags(t, file, "egress-nat"); got != c.want {
			t.Errorf("level %d wrote %q, want %q", c.level, got, c.want)
		}
	}

	// The file is appended to, not truncated.
	file := filepath.Join(t.TempDir(), "plugin.log")
	for i := 0; i < 2; i++ {
		l := New("egress-route", file, Error)
		l.Errorf("e %d", i)
		l.Close()
	}
	if got := tags(t, file, "egress-route"); got != "error,error" {
		t.Errorf("two loggers on one file wrote %q, want two error lines", got)
	}

	// A nil logger and Discard drop everything without failing.
	var nilLogger *Logger
	logAll(nilLogger)
	nilLogger.Close()
	logAll(Discard())
	Discard().Close()
}

// TestLoggerFileFallback checks that a log file that cannot be opened
// sends the logs to stderr instead.
func TestLoggerFileFallback(t *testing.T) {
	dir := t.TempDir()
	stderr, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	saved := os.Stderr
	os.Stderr = stderr
	defer func() { os.Stderr = saved }()

	missing := filepath.Join(dir, "no-such-dir", "plugin.log")
	l := New("egress-nat", missing, Warning)
	l.Warningf("w %d", 1)
	l.Infof("i %d", 2)
	l.Close()
	os.Stderr = saved
	stderr.Close()

	b, err := os.ReadFile(stderr.Name())
	if err != nil {
		t.Fatal(err)
	}
	out := string(b)
	if !strings.Contains(out, `egress-nat: cannot open log_file "`+missing+`", logging to stderr`) {
		t.Errorf("stderr lacks the fallback notice:\n%s", out)
	}
	if !strings.Contains(out, "[warning] egress-nat: w 1") || strings.Contains(out, "i 2") {
		t.Errorf("stderr has the wrong messages:\n%s", out)
	}
	if _, err := os.Stat(missing); err == nil {
		t.Errorf("log file %s was created", missing)
	}
}

func TestSettingsOpen(t *testing.T) {
	cases := []struct {
		name     string
		settings Settings // LogFile "file" stands for a temporary file
		want     string   // tags written to the file
		level    Level    // the logger's level
	}{
		{"file without level: info", Settings{LogFile: "file"}, "error,warning,info", Info},
		{"file with debug", Settings{LogFile: "file", LogLevel: "debug"}, "error,warning,info,debug", Debug},
		{"file with error", Settings{LogFile: "file", LogLevel: "ERROR"}, "error", Error},
		{"stderr without level: warnings", Settings{}, "", Warning},
		{"stderr with info", Settings{LogLevel: "info"}, "", Info},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := c.settings
			if s.LogFile == "file" {
				s.LogFile = filepath.Join(t.TempDir(), "plugin.log")
			}
			l, err := s.Open("egress-nat")
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			if l.level != c.level {
				t.Errorf("level %d, want %d", l.level, c.level)
			}
			if s.LogFile == "" {
				if l.w != os.Stderr {
					t.Errorf("logger without log_file does not write to stderr")
				}
				return
			}
			logAll(l)
			if got := tags(t, s.LogFile, "egress-nat"); got != c.want {
				t.Errorf("wrote %q, want %q", got, c.want)
			}
		})
	}

	if _, err := (Settings{LogLevel: "loud"}).Open("egress-nat"); err == nil || !strings.Contains(err.Error(), `"loud"`) {
		t.Errorf("unknown level: error %v", err)
	}
}

// TestLogFileIsOnlyARegularFile: a log path that is a symlink, or not a
// regular file, is not written through; a file with another mode gets
// 0600.
func TestLogFileIsOnlyARegularFile(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(t.TempDir(), "profile")
	if err := os.WriteFile(target, []byte("# shell start-up\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "egress-router-log")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{link, fifo, dir} {
		if f, err := openFile(p); err == nil {
			f.Close()
			t.Errorf("%s opened", p)
		}
	}
	l := New("egress-router", link, Info)
	l.Errorf("$(touch x)")
	l.Close()
	if b, _ := os.ReadFile(target); string(b) != "# shell start-up\n" {
		t.Errorf("written through the symlink: %q", b)
	}
	loose := filepath.Join(dir, "loose.log")
	if err := os.WriteFile(loose, nil, 0o666); err != nil {
		t.Fatal(err)
	}
	f, err := openFile(loose)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if st, _ := os.Stat(loose); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}
}
