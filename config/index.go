package config

import "time"

// Index configures the Bleve search index.
type Index struct {
	// BatchSize is the number of documents written per Bleve batch.
	BatchSize int `yaml:"batch_size"`
	// FlushInterval bounds how long an indexed post waits before it is searchable.
	FlushInterval Duration `yaml:"flush_interval"`
	// RetentionDays deletes documents published (or fetched) longer ago; 0 keeps all.
	RetentionDays int `yaml:"retention_days"`
	// RetentionSchedule is the cron spec of the retention job.
	RetentionSchedule string `yaml:"retention_schedule"`
	// Shards is the number of Bleve indexes a new index is split into; a
	// search runs on them side by side. An existing index keeps its count.
	Shards int `yaml:"shards"`
	// SearchTimeout stops a search (UI, API, alert rule) that runs longer.
	SearchTimeout Duration `yaml:"search_timeout"`
	// SearchesPerUser is how many searches one user may run at once; more
	// are answered 429.
	SearchesPerUser int `yaml:"searches_per_user"`
	// PersistPause is how long the index's writer to disk waits between
	// segment files, so that the batches written meanwhile go to disk as
	// one (index.Options.PersistPause); 0s writes each batch at once.
	PersistPause Duration `yaml:"persist_pause"`
}

func defaultIndex() Index {
	return Index{BatchSize: 500, FlushInterval: Duration(secondF), RetentionSchedule: "@daily", Shards: 2,
		SearchTimeout: Duration(5 * secondF), SearchesPerUser: 2, PersistPause: Duration(2 * secondF)}
}

func (c *Config) validateIndex() error {
	if c.Index.BatchSize < 1 {
		return c.errAt("index.batch_size", "must be at least 1, got %d", c.Index.BatchSize)
	}
	if c.Index.FlushInterval.D() <= 0 {
		return c.errAt("index.flush_interval", "must be a positive duration such as 1s")
	}
	if c.Index.RetentionDays < 0 {
		return c.errAt("index.retention_days", "must be 0 (keep everything) or more, got %d", c.Index.RetentionDays)
	}
	if c.Index.Shards < 1 || c.Index.Shards > 64 {
		return c.errAt("index.shards", "must be between 1 and 64, got %d", c.Index.Shards)
	}
	if d := c.Index.SearchTimeout.D(); d < 100*time.Millisecond || d > 10*time.Minute {
		return c.errAt("index.search_timeout", "must be a duration between 100ms and 10m such as 5s, got %s", d)
	}
	if c.Index.SearchesPerUser < 1 || c.Index.SearchesPerUser > 100 {
		return c.errAt("index.searches_per_user", "must be between 1 and 100, got %d", c.Index.SearchesPerUser)
	}
	if d := c.Index.PersistPause.D(); d < 0 || d > 30*time.Second {
		return c.errAt("index.persist_pause", "must be a duration between 0s and 30s such as 2s, got %s", d)
	}
	if err := checkCron(c.Index.RetentionSchedule); err != nil {
		return c.errAt("index.retention_schedule", "%v", err)
	}
	return nil
}
