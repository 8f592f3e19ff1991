package config

// Data configures the data folder (data_dir).
type Data struct {
	// MinFreeBytes is the free space the data folder's file system must
	// keep: under it /readyz answers not ready, crawled posts are not
	// stored (their pages are fetched again later) and API writes are
	// refused, each naming the folder. 0 turns the check off.
	MinFreeBytes int64 `yaml:"min_free_bytes"`
}

func defaultData() Data {
	return Data{MinFreeBytes: 100 << 20}
}

func (c *Config) validateData() error {
	if c.Data.MinFreeBytes < 0 {
		return c.errAt("data.min_free_bytes", "must be 0 (no check) or a number of bytes, got %d", c.Data.MinFreeBytes)
	}
	return nil
}
