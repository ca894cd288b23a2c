// Package logging writes plugin logs to stderr or a log file, never to
// stdout, which carries the CNI result.
package logging

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Level orders messages; a logger drops messages above its level.
type Level int

const (
	Error Level = iota
	Warning
	Info
	Debug
)

var names = map[string]Level{"error": Error, "panic": Error, "warning": Warning, "warn": Warning, "info": Info, "verbose": Debug, "debug": Debug}

// ParseLevel accepts error, warning, info and debug (any case); "" is info.
func ParseLevel(s string) (Level, error) {
	if s == "" {
		return Info, nil
	}
	l, ok := names[strings.ToLower(s)]
	if !ok {
		return Info, fmt.Errorf("unknown log level %q (want error, warning, info or debug)", s)
	}
	return l, nil
}

// Logger is safe for concurrent use.
type Logger struct {
	mu     sync.Mutex
	w      io.Writer
	level  Level
	prefix string
	closer io.Closer
}

// New logs to file (appending) or to stderr when file is "". A file that
// cannot be opened falls back to stderr: losing logs must not fail an ADD.
// The caller chooses where the file is (the node's log folder); New
// writes only into a regular file there, never through a symlink, and
// makes it mode 0600.
func New(prefix, file string, level Level) *Logger {
	l := &Logger{w: os.Stderr, level: level, prefix: prefix}
	if file != "" {
		f, err := openFile(file)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: cannot open log_file %q, logging to stderr: %v\n", prefix, file, err)
		} else {
			l.w, l.closer = f, f
		}
	}
	return l
}

// openFile opens a log file for appending: inside its folder only (an
// os.Root), not through a symlink (O_NOFOLLOW), a regular file only, mode
// 0600 whatever it was.
func openFile(path string) (*os.File, error) {
	dir, name := filepath.Split(filepath.Clean(path))
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	f, err := root.OpenFile(name, os.O_CREATE|os.O_WRONLY|os.O_APPEND|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0o600)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err == nil && !st.Mode().IsRegular() {
		err = fmt.Errorf("%s is not a regular file", path)
	}
	if err == nil && st.Mode().Perm() != 0o600 {
		err = f.Chmod(0o600)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// To logs to w.
func To(w io.Writer, prefix string, level Level) *Logger {
	return &Logger{w: w, level: level, prefix: prefix}
}

// Discard returns a logger that writes nothing.
func Discard() *Logger { return &Logger{w: io.Discard, level: Error} }

// Close closes the log file, if any.
func (l *Logger) Close() {
	if l != nil && l.closer != nil {
		l.closer.Close()
	}
}

// Debugging reports whether debug messages are written: what only a
// debug line needs (the rules of a 1000-rule ADD as text) is then built
// only when someone reads it.
func (l *Logger) Debugging() bool { return l != nil && l.level >= Debug }

func (l *Logger) logf(lv Level, tag, format string, args ...any) {
	if l == nil || lv > l.level {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, "%s [%s] %s: %s\n", time.Now().UTC().Format(time.RFC3339Nano), tag, l.prefix, fmt.Sprintf(format, args...))
}

func (l *Logger) Errorf(format string, args ...any)   { l.logf(Error, "error", format, args...) }
func (l *Logger) Warningf(format string, args ...any) { l.logf(Warning, "warning", format, args...) }
func (l *Logger) Infof(format string, args ...any)    { l.logf(Info, "info", format, args...) }
func (l *Logger) Debugf(format string, args ...any)   { l.logf(Debug, "debug", format, args...) }
