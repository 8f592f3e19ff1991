package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strings"
	"time"
	_ "time/tzdata" // zone names resolve on a minimal container too

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// DefaultFile is the config file read when --config is not given and the
// file exists in the working folder.
const DefaultFile = "riskmine.yaml"

// Config is the whole riskmine configuration. Each section lives in a file of
// its own (nlp.go, crawler.go, …) with its defaults and validation.
type Config struct {
	// DataDir holds the index and the SQLite database.
	DataDir string `yaml:"data_dir"`
	// Timezone is the IANA zone times are shown, bucketed into days,
	// exported and read in when typed without a zone, and that cron
	// schedules follow (default Asia/Shanghai).
	Timezone string   `yaml:"timezone"`
	Data     Data     `yaml:"data"`
	Log      Log      `yaml:"log"`
	NLP      NLP      `yaml:"nlp"`
	Crawler  Crawler  `yaml:"crawler"`
	Index    Index    `yaml:"index"`
	Alerts   Alerts   `yaml:"alerts"`
	Web      Web      `yaml:"web"`
	Evidence Evidence `yaml:"evidence"`
	Cluster  Cluster  `yaml:"cluster"`

	// file is the path the config was loaded from ("" for built-in defaults).
	file string
	// lines maps a YAML path such as "crawler.sources[0].url" to its line.
	lines map[string]int
}

// Log configures the process logger.
type Log struct {
	// Level is debug, info, warn or error.
	Level string `yaml:"level"`
	// Format is text or json.
	Format string `yaml:"format"`
}

// Default returns the built-in configuration used when no file is given.
func Default() *Config {
	return &Config{
		DataDir:  "./data",
		Timezone: DefaultTimezone,
		Data:     defaultData(),
		Log:      Log{Level: "info", Format: "text"},
		NLP:      defaultNLP(),
		Crawler:  defaultCrawler(),
		Index:    defaultIndex(),
		Alerts:   defaultAlerts(),
		Web:      defaultWeb(),
		Evidence: defaultEvidence(),
		Cluster:  defaultCluster(),
	}
}

// DefaultTimezone is the zone used when the config names none: the
// country riskmine's users work in has one zone.
const DefaultTimezone = "Asia/Shanghai"

// Location returns the configured time zone (DefaultTimezone when the
// field is empty). Validate has checked it; an unknown name falls back to
// UTC rather than nil.
func (c *Config) Location() *time.Location {
	loc, err := c.location()
	if err != nil {
		return time.UTC
	}
	return loc
}

func (c *Config) location() (*time.Location, error) {
	name := strings.TrimSpace(c.Timezone)
	if name == "" {
		name = DefaultTimezone
	}
	if name == "Local" {
		return nil, fmt.Errorf("got %q, expected an IANA zone name such as Asia/Shanghai or UTC (Local depends on the machine)", c.Timezone)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("got %q, expected an IANA zone name such as Asia/Shanghai or UTC", c.Timezone)
	}
	return loc, nil
}

// File returns the path the configuration was loaded from, or "" for the
// built-in defaults.
func (c *Config) File() string { return c.file }

// Error is a configuration problem tied to a place in the file.
type Error struct {
	File string // config file path; "" for built-in defaults
	Line int    // 1-based line; 0 when unknown
	Key  string // YAML path such as crawler.sources[0].url
	Msg  string // what is wrong and what was expected
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("config: ")
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
		b.WriteString(": ")
	}
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Load reads the config file at path over the defaults. An empty path loads
// DefaultFile when it exists in the working folder and the defaults otherwise.
func Load(path string) (*Config, error) { return LoadWith(path, nil) }

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// expandEnv replaces ${NAME} with the environment variable NAME. A reference
// to an unset variable is an error: a secret silently left empty is worse.
func expandEnv(file string, raw []byte) ([]byte, error) {
	var missing *Error
	lineOf := func(off int) int { return bytes.Count(raw[:off], []byte("\n")) + 1 }
	out := envRef.ReplaceAllFunc(raw, func(m []byte) []byte {
		name := string(m[2 : len(m)-1])
		v, ok := os.LookupEnv(name)
		if !ok && missing == nil {
			off := bytes.Index(raw, m)
			missing = &Error{File: file, Line: lineOf(off), Msg: fmt.Sprintf("environment variable %s is not set (referenced as ${%s})", name, name)}
		}
		return []byte(v)
	})
	if missing != nil {
		return nil, missing
	}
	return out, nil
}

// Parse decodes raw YAML named file over the defaults and validates it.
func Parse(file string, raw []byte) (*Config, error) {
	return ParseWith(file, raw, nil)
}

// LoadWith is Load with override applied to the decoded config before it
// is validated: command-line flags that win over the file (serve's
// --store and --role), so the file is judged with them.
func LoadWith(path string, override func(*Config)) (*Config, error) {
	if path == "" {
		if _, err := os.Stat(DefaultFile); err != nil {
			c := Default()
			if override != nil {
				override(c)
			}
			return c, c.Validate()
		}
		path = DefaultFile
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return ParseWith(path, raw, override)
}

// ParseWith is Parse with override applied before validation (LoadWith).
func ParseWith(file string, raw []byte, override func(*Config)) (*Config, error) {
	expanded, err := expandEnv(file, raw)
	if err != nil {
		return nil, err
	}
	return parseExpanded(file, expanded, override)
}

// parseExpanded is Parse after ${VAR} expansion.
func parseExpanded(file string, expanded []byte, override func(*Config)) (*Config, error) {
	c := Default()
	c.file = file
	if len(bytes.TrimSpace(expanded)) > 0 {
		// Check kinds and keys on the tree first: its errors name the key
		// path and line, the decoder's name Go types.
		if f, err := parseTree(expanded); err == nil {
			for _, d := range f.Docs {
				if e := checkTree(file, d.Body, reflect.TypeOf(c).Elem()); e != nil {
					return nil, e
				}
			}
			c.lines = map[string]int{}
			for _, d := range f.Docs {
				collectLines(d.Body, "", c.lines)
			}
		}
		if err := decodeStrict(expanded, c); err != nil {
			return nil, decodeError(file, expanded, err)
		}
	}
	if override != nil {
		override(c)
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// parseTree parses raw into a YAML tree; like decodeStrict, it turns a
// parser panic into an error.
func parseTree(raw []byte) (f *ast.File, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("malformed YAML that the parser could not read (%v)", r)
		}
	}()
	return parser.ParseBytes(raw, 0)
}

// decodeStrict decodes with unknown keys as errors. go-yaml panics on some
// malformed documents (a tag with no value inside a sequence): that is
// reported as an error, never a crash.
func decodeStrict(raw []byte, v any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("malformed YAML that the parser could not read (%v)", r)
		}
	}()
	return yaml.UnmarshalWithOptions(raw, v, yaml.Strict(), yaml.DisallowUnknownField())
}

// decodeError turns a go-yaml error into one line with file and line.
func decodeError(file string, raw []byte, err error) error {
	var ye yaml.Error
	if errors.As(err, &ye) {
		line := 0
		if tk := ye.GetToken(); tk != nil && tk.Position != nil {
			line = tk.Position.Line
		}
		msg := ye.GetMessage()
		var uf *yaml.UnknownFieldError
		if errors.As(err, &uf) {
			msg += " (unknown keys are errors; check the spelling against the README's config reference)"
		}
		return &Error{File: file, Line: line, Msg: msg}
	}
	// Errors from our own UnmarshalText carry the value but no position: find
	// the line that holds it.
	var ve *valueError
	if errors.As(err, &ve) {
		line := 0
		for i, l := range strings.Split(string(raw), "\n") {
			if strings.Contains(l, ve.value) {
				line = i + 1
				break
			}
		}
		return &Error{File: file, Line: line, Msg: ve.msg}
	}
	return &Error{File: file, Msg: firstLine(err.Error())}
}

// valueError is returned by UnmarshalText methods of config types.
type valueError struct {
	value string
	msg   string
}

func (e *valueError) Error() string { return e.msg }

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// collectLines walks the YAML tree recording the line of every key path.
func collectLines(n ast.Node, prefix string, out map[string]int) {
	switch v := n.(type) {
	case *ast.MappingNode:
		for _, kv := range v.Values {
			collectLines(kv, prefix, out)
		}
	case *ast.MappingValueNode:
		key := keyText(v.Key)
		p := key
		if prefix != "" {
			p = prefix + "." + key
		}
		out[p] = v.Key.GetToken().Position.Line
		collectLines(v.Value, p, out)
	case *ast.SequenceNode:
		for i, item := range v.Values {
			p := fmt.Sprintf("%s[%d]", prefix, i)
			if tk := item.GetToken(); tk != nil && tk.Position != nil {
				out[p] = tk.Position.Line
			}
			collectLines(item, p, out)
		}
	case *ast.TagNode:
		collectLines(v.Value, prefix, out)
	case *ast.AnchorNode:
		collectLines(v.Value, prefix, out)
	}
}

// errAt builds an Error for key, finding its line (or the nearest parent's).
func (c *Config) errAt(key, format string, args ...any) *Error {
	line := 0
	for k := key; k != ""; k = parentKey(k) {
		if l, ok := c.lines[k]; ok {
			line = l
			break
		}
	}
	return &Error{File: c.file, Line: line, Key: key, Msg: fmt.Sprintf(format, args...)}
}

func parentKey(k string) string {
	if strings.HasSuffix(k, "]") {
		if i := strings.LastIndexByte(k, '['); i >= 0 {
			return k[:i]
		}
	}
	if i := strings.LastIndexByte(k, '.'); i >= 0 {
		return k[:i]
	}
	return ""
}

// Validate checks every section and returns the first problem found.
func (c *Config) Validate() error {
	if strings.TrimSpace(c.DataDir) == "" {
		return c.errAt("data_dir", "must not be empty")
	}
	if _, err := c.location(); err != nil {
		return c.errAt("timezone", "%v", err)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		return c.errAt("log.level", "got %q, expected one of debug, info, warn, error", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		return c.errAt("log.format", "got %q, expected text or json", c.Log.Format)
	}
	for _, check := range []func() error{c.validateData, c.validateNLP, c.validateCrawler, c.validateIndex, c.validateAlerts, c.validateWeb, c.validateEvidence, c.validateCluster} {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

// Duration is a time.Duration that reads "90s", "48h" or "2h30m" in YAML.
type Duration time.Duration

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	if strings.HasSuffix(s, "d") {
		var n int
		if _, err := fmt.Sscanf(s, "%dd", &n); err == nil {
			*d = Duration(time.Duration(n) * 24 * time.Hour)
			return nil
		}
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return &valueError{value: s, msg: fmt.Sprintf("invalid duration %q, expected e.g. 30s, 15m, 48h or 7d", s)}
	}
	*d = Duration(v)
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }
