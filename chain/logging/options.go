package logging

// Settings are the logging fields every plugin config accepts.
type Settings struct {
	LogFile  string `json:"log_file,omitempty"`
	LogLevel string `json:"log_level,omitempty"`
}

// Open returns the logger the settings describe. Without log_level, a
// log file gets info and stderr gets warnings only: runtimes keep a
// plugin's stderr, and a quiet ADD is the norm there.
func (o Settings) Open(prefix string) (*Logger, error) {
	lv, err := ParseLevel(o.LogLevel)
	if err != nil {
		return nil, err
	}
	if o.LogLevel == "" && o.LogFile == "" {
		lv = Warning
	}
	return New(prefix, o.LogFile, lv), nil
}
