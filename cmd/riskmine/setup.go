package main

import (
	"fmt"
	"io"
	"log/slog"
	"strings"

	"riskmine/config"
)

// loadConfig loads the config named by the common flags and applies --data.
func loadConfig(cf *commonFlags) (*config.Config, error) {
	cfg, err := config.Load(cf.config)
	if err != nil {
		return nil, err
	}
	if cf.data != "" {
		cfg.DataDir = cf.data
	}
	return cfg, nil
}

// newLogger is the one place the process logger is built.
func newLogger(w io.Writer, l config.Log) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(strings.ToUpper(l.Level))); err != nil {
		return nil, fmt.Errorf("log level %q: %w", l.Level, err)
	}
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	if l.Format == "json" {
		h = slog.NewJSONHandler(w, opts)
	} else {
		h = slog.NewTextHandler(w, opts)
	}
	return slog.New(h), nil
}

// loadEmbeddedConfig is loadConfig for the commands that work on the
// embedded stores under data_dir: a config whose state lives in PostgreSQL
// (cluster.store) is refused in one line rather than read from an empty
// data folder.
func loadEmbeddedConfig(cf *commonFlags) (*config.Config, error) {
	cfg, err := loadConfig(cf)
	if err != nil {
		return nil, err
	}
	if cfg.Cluster.Postgres() {
		return nil, fmt.Errorf("this command works on the embedded stores under data_dir, but this config keeps its state in PostgreSQL (cluster.store %s); use the web UI or the API of an api node", cfg.Cluster.StoreRedacted())
	}
	return cfg, nil
}
