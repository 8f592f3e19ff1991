package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"riskmine/config"
	"riskmine/service"
)

func init() {
	register(&command{
		name:    "serve",
		summary: "run the scheduler, the pipeline, the webhook dispatcher and the web UI",
		run:     runServe,
	})
}

func runServe(ctx context.Context, env *cmdEnv, args []string) error {
	fs, cf := newFlagSet(env, "serve", "serve [--addr ADDR] [--data DIR] [--config FILE] [--store postgres://…] [--role all|worker|api]", `
Loads the config, opens the store and the index, starts the crawl scheduler,
the pipeline (crawler → nlp → index + leads), the webhook dispatcher and the web
UI with its JSON API at /api/v1, /metrics, /healthz and /readyz. SIGINT or
SIGTERM stops it gracefully: scheduling stops, running scans finish or are
abandoned (to be fetched again next run), the index is flushed, exit 0.
The environment variable RISKMINE_API_TOKEN, when set, is accepted as an
admin bearer token.

With --store (config cluster.store) the state lives in PostgreSQL, shared by
every node started on it; --role worker crawls, files and delivers, --role api
serves the UI and the API and delivers, --role all (default) does both.`)
	addr := fs.String("addr", "", "listen address (default from config web.addr, 127.0.0.1:8080)")
	store := fs.String("store", "", "PostgreSQL URL of a cluster's shared state (default from config cluster.store; empty: SQLite and Bleve under the data folder)")
	role := fs.String("role", "", "what this node does: all, worker or api (default from config cluster.role, all)")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	// The flags win over the file, on start and on every reload.
	load := func() (*config.Config, error) {
		cfg, err := config.LoadWith(cf.config, func(c *config.Config) {
			if *store != "" {
				c.Cluster.Store = *store
			}
			if *role != "" {
				c.Cluster.Role = *role
			}
		})
		if err != nil {
			if *store != "" || *role != "" {
				return nil, fmt.Errorf("with --store/--role: %w", err)
			}
			return nil, err
		}
		if cf.data != "" {
			cfg.DataDir = cf.data
		}
		if *addr != "" {
			cfg.Web.Addr = *addr
		}
		return cfg, nil
	}
	cfg, err := load()
	if err != nil {
		return err
	}
	log, err := newLogger(env.stderr, cfg.Log)
	if err != nil {
		return err
	}
	svc, err := service.Start(ctx, cfg, service.Options{Logger: log, Reconfig: load})
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "riskmine ready at http://%s\n", svc.Addr())
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return svc.Shutdown()
		case <-hup:
			// A new detection model goes live without a restart (the
			// config file is read again for nlp.model), and the boundary
			// layer of web.map is fetched again from its URL.
			svc.Reload(ctx)
		}
	}
}
