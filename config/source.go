package config

import (
	"strings"
)

// sourceWrapLines is how many lines ParseSource puts before the source.
const sourceWrapLines = 3

// ParseSource decodes one source written as YAML (or JSON) of the same shape
// as an entry of crawler.sources and validates it with the same code as the
// config file. Its errors are *Error with Key relative to the source (such
// as "list.items") and Line in raw. ${VAR} is not expanded: a source edited
// in the UI must not read the server's environment.
func ParseSource(raw []byte) (*Source, error) {
	var b strings.Builder
	b.WriteString("crawler:\n  sources:\n    -\n")
	for _, l := range strings.Split(strings.ReplaceAll(string(raw), "\r\n", "\n"), "\n") {
		b.WriteString("      ")
		b.WriteString(l)
		b.WriteByte('\n')
	}
	c, err := parseExpanded("", []byte(b.String()), nil)
	if err != nil {
		if e, ok := err.(*Error); ok {
			out := *e
			out.Key = strings.TrimPrefix(strings.TrimPrefix(out.Key, "crawler.sources[0]"), ".")
			if out.Line > sourceWrapLines {
				out.Line -= sourceWrapLines
			} else {
				out.Line = 0
			}
			return nil, &out
		}
		return nil, err
	}
	if len(c.Crawler.Sources) != 1 {
		return nil, &Error{Msg: "expected one source, a mapping with name, kind and seeds"}
	}
	s := c.Crawler.Sources[0]
	return &s, nil
}
