package config

import (
	"strings"
	"testing"
)

func TestDataMinFreeBytes(t *testing.T) {
	if got := Default().Data.MinFreeBytes; got != 100<<20 {
		t.Errorf("default data.min_free_bytes %d, want 100 MiB", got)
	}
	c, err := Parse("c.yaml", []byte("data:\n  min_free_bytes: 0\n"))
	if err != nil || c.Data.MinFreeBytes != 0 {
		t.Errorf("min_free_bytes 0 (no check): %v, %+v", err, c)
	}
	_, err = Parse("c.yaml", []byte("data:\n  min_free_bytes: -1\n"))
	if err == nil || !strings.Contains(err.Error(), "c.yaml:2: data.min_free_bytes: must be 0") {
		t.Errorf("negative min_free_bytes: %v", err)
	}
}
