package config

import (
	"net/url"
	"strings"
)

// Roles of a node (cluster.role).
const (
	RoleAll    = "all"    // crawl, file, deliver and serve the UI (the embedded mode's only role)
	RoleWorker = "worker" // crawl, file and deliver; no UI
	RoleAPI    = "api"    // the UI and API, and delivery; no crawling
)

// Cluster says where riskmine keeps its state and what this process does.
// Empty, riskmine is one process over SQLite and Bleve under data_dir (the
// embedded mode).
type Cluster struct {
	// Store is a PostgreSQL URL (postgres://user:pass@host:5432/db?…)
	// holding leads, audit, outbox, users, sessions, crawl state, jobs and
	// the posts for search, shared by every node; write the password as
	// ${ENV}. Empty (default): the embedded SQLite and Bleve stores.
	Store string `yaml:"store"`
	// Role is all (default), worker or api. worker and api need a Store:
	// nodes of different roles share their state through it.
	Role string `yaml:"role"`
}

func defaultCluster() Cluster { return Cluster{Role: RoleAll} }

// Postgres reports whether the state lives in PostgreSQL.
func (c Cluster) Postgres() bool { return c.Store != "" }

// Crawls reports whether this node runs crawl jobs and the pipeline.
func (c Cluster) Crawls() bool { return c.Role == "" || c.Role == RoleAll || c.Role == RoleWorker }

// Serves reports whether this node serves the UI and the API.
func (c Cluster) Serves() bool { return c.Role == "" || c.Role == RoleAll || c.Role == RoleAPI }

// StoreRedacted is Store without its password, for logs and errors.
func (c Cluster) StoreRedacted() string {
	u, err := url.Parse(c.Store)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

func (c *Config) validateCluster() error {
	switch c.Cluster.Role {
	case "", RoleAll, RoleWorker, RoleAPI:
	default:
		return c.errAt("cluster.role", "got %q, expected all, worker or api", c.Cluster.Role)
	}
	if c.Cluster.Store == "" {
		if c.Cluster.Role == RoleWorker || c.Cluster.Role == RoleAPI {
			return c.errAt("cluster.role", "%s needs cluster.store (a postgres:// URL): nodes of different roles share their state there", c.Cluster.Role)
		}
		return nil
	}
	u, err := url.Parse(c.Cluster.Store)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
		shown := c.Cluster.Store
		if err == nil {
			shown = u.Redacted()
		} else if i := strings.Index(shown, "://"); i >= 0 {
			shown = shown[:i+3] + "…"
		}
		return c.errAt("cluster.store", "got %q, expected a PostgreSQL URL such as postgres://riskmine:${PGPASSWORD}@db.internal:5432/riskmine", shown)
	}
	return nil
}
