package config

import "time"

// Evidence configures the evidence archive: the WARC copies of the pages
// that become leads' sources, under <data_dir>/evidence.
type Evidence struct {
	// Enabled archives lead sources (default true). Off, leads are filed
	// as before and their pages say that no archived copy exists.
	Enabled bool `yaml:"enabled"`
	// MaxFileBytes starts a new WARC file once the current one would grow
	// past it (default 1 GiB, at least 1 MiB). A new file also starts
	// each UTC day.
	MaxFileBytes int64 `yaml:"max_file_bytes"`
	// Retention deletes whole WARC files whose newest capture is older
	// than this, unless a capture in them belongs to a lead that is still
	// open (or merged into an open lead). 0 (default) keeps every file.
	Retention Duration `yaml:"retention"`
}

func defaultEvidence() Evidence {
	return Evidence{Enabled: true, MaxFileBytes: 1 << 30}
}

func (c *Config) validateEvidence() error {
	if c.Evidence.MaxFileBytes < 1<<20 {
		return c.errAt("evidence.max_file_bytes", "must be at least 1048576 (1 MiB), got %d", c.Evidence.MaxFileBytes)
	}
	if r := c.Evidence.Retention.D(); r < 0 || (r > 0 && r < 24*time.Hour) {
		return c.errAt("evidence.retention", "must be 0 (keep every file) or at least 1d, got %s", r)
	}
	return nil
}
