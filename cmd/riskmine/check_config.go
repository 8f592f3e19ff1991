package main

import (
	"context"
	"fmt"

	"riskmine/nlp"
)

func init() {
	register(&command{
		name:    "check-config",
		summary: "validate the config file and print a summary",
		run:     runCheckConfig,
	})
}

func runCheckConfig(ctx context.Context, env *cmdEnv, args []string) error {
	fs, cf := newFlagSet(env, "check-config", "check-config [--config FILE]",
		"Loads the config (strict: unknown keys are errors), expands ${ENV} references and validates every section. Problems are reported as file:line: key: what was expected.")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(cf)
	if err != nil {
		return err
	}
	if m := cfg.NLP.Model; m != "" && m != "default" && m != "none" {
		if _, err := nlp.ReadModel(m); err != nil {
			return fmt.Errorf("nlp.model: %w", err)
		}
	}
	src := cfg.File()
	if src == "" {
		src = "built-in defaults"
	}
	fmt.Fprintf(env.stdout, "config ok (%s): data_dir=%s, %d sources, %d webhooks\n", src, cfg.DataDir, len(cfg.Crawler.Sources), len(cfg.Alerts.Webhooks))
	return nil
}
