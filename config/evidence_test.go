package config

import (
	"strings"
	"testing"
	"time"
)

func TestEvidenceConfig(t *testing.T) {
	d := Default().Evidence
	if !d.Enabled || d.MaxFileBytes != 1<<30 || d.Retention != 0 {
		t.Errorf("defaults %+v", d)
	}
	c, err := Parse("c.yaml", []byte("evidence:\n  enabled: false\n  max_file_bytes: 2097152\n  retention: 400d\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Evidence.Enabled || c.Evidence.MaxFileBytes != 2<<20 || c.Evidence.Retention.D() != 400*24*time.Hour {
		t.Errorf("parsed %+v", c.Evidence)
	}
	for yaml, want := range map[string]string{
		"evidence:\n  max_file_bytes: 1000\n": "c.yaml:2: evidence.max_file_bytes: must be at least 1048576",
		"evidence:\n  retention: 2h\n":        "c.yaml:2: evidence.retention: must be 0 (keep every file) or at least 1d",
		"evidence:\n  retention: soon\n":      "c.yaml:2",
		"evidence:\n  keep: 3\n":              "c.yaml:2",
	} {
		_, err := Parse("c.yaml", []byte(yaml))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", yaml, err, want)
		}
	}
}
