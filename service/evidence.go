package service

// The evidence archive as the process uses it: the pipeline archives the
// page of each post that files a lead (package pipeline), serve prunes old files
// (runEvidenceRetention; on PostgreSQL EvidenceRetention, run by the
// leader), and the lead page and `leads export-evidence` read it back.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"riskmine/alerts"
	"riskmine/config"
	"riskmine/evidence"
	"riskmine/evidence/pgindex"
	"riskmine/netguard"
)

// OpenEvidence opens the archive in evidence.dir (<data_dir>/evidence by
// default) with its index in riskmine.db, the embedded mode, and logs what
// the repair of files left open by a crash did; nil when the archive is
// turned off.
func OpenEvidence(ctx context.Context, cfg *config.Config, log *slog.Logger) (*evidence.Archive, error) {
	if !cfg.Evidence.Enabled {
		return nil, nil
	}
	return openEvidence(ctx, cfg, evidence.Options{DB: filepath.Join(cfg.DataDir, "riskmine.db")}, log)
}

// OpenEvidencePG opens the archive of a node on PostgreSQL (cluster.store):
// its files in evidence.dir, the folder every node shares, in the node's
// subfolder (evidence.node, by default the host name); its index in the
// evidence_ tables of pool's schema (evidence/pgindex, migrated here); the
// signing key at the folder's top, the same for every node. A node whose
// evidence.dir is not the folder the others use is refused with one line
// (its key is not the one recorded in PostgreSQL). It repairs only this
// node's files left open by a crash, and logs what it did. The pool stays
// the caller's. Nil when the archive is turned off.
func OpenEvidencePG(ctx context.Context, cfg *config.Config, pool *pgxpool.Pool, log *slog.Logger) (*evidence.Archive, error) {
	if !cfg.Evidence.Enabled {
		return nil, nil
	}
	node, err := EvidenceNode(cfg)
	if err != nil {
		return nil, err
	}
	idx, err := pgindex.New(ctx, pool)
	if err != nil {
		return nil, err
	}
	return openEvidence(ctx, cfg, evidence.Options{Index: idx, Node: node}, log.With("node", node))
}

// EvidenceNode is this node's name in the shared evidence folder:
// evidence.node, or the host name made fit (other characters become '-').
func EvidenceNode(cfg *config.Config) (string, error) {
	if cfg.Evidence.Node != "" {
		return cfg.Evidence.Node, evidence.ValidNode(cfg.Evidence.Node)
	}
	host, err := os.Hostname()
	if err != nil {
		return "", fmt.Errorf("evidence.node: the host name cannot be read (%v); set evidence.node", err)
	}
	node := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-' {
			return r
		}
		return '-'
	}, host)
	node = strings.TrimLeft(node, "._-")
	if len(node) > 64 {
		node = node[:64]
	}
	if evidence.ValidNode(node) != nil {
		return "", fmt.Errorf("evidence.node: the host name %q makes no node name; set evidence.node", host)
	}
	return node, nil
}

// openEvidence opens the archive in cfg.EvidenceDir() with the index (or
// database) and node opts name.
func openEvidence(ctx context.Context, cfg *config.Config, opts evidence.Options, log *slog.Logger) (*evidence.Archive, error) {
	ts, err := EvidenceTimestamper(cfg.Evidence, log)
	if err != nil {
		return nil, err
	}
	// The floor is the archive folder's own file system, which on a
	// cluster is the shared one, not data_dir's.
	floor := NewDiskFloor(cfg.EvidenceDir(), cfg.Data.MinFreeBytes)
	opts.Dir = cfg.EvidenceDir()
	opts.MaxFileBytes = cfg.Evidence.MaxFileBytes
	opts.Version = Version()
	opts.SpaceCheck = floor.Check
	opts.Timestamper = ts
	a, rep, err := evidence.Open(ctx, opts)
	if err != nil {
		return nil, err
	}
	for _, f := range rep.Files {
		if f.Removed {
			log.Warn("evidence file left by a crash held no complete record and was removed", "file", f.Name)
			continue
		}
		log.Warn("evidence file left by a crash repaired", "file", f.Name, "kept_bytes", f.Kept, "cut_bytes", f.Cut)
	}
	return a, nil
}

// EvidenceTimestamper is the RFC 3161 client of evidence.timestamp_url, or
// nil when none is set. The TSA is an outside host the administrator
// named, reached as webhooks are: every connection goes through the SSRF
// guard (loopback, private and link-local addresses only with
// timestamp_allow_private, cloud metadata never), redirects are not
// followed, and timestamp_timeout bounds the whole exchange.
func EvidenceTimestamper(c config.Evidence, log *slog.Logger) (*evidence.Timestamper, error) {
	if c.TimestampURL == "" {
		return nil, nil
	}
	roots, err := c.TimestampRoots()
	if err != nil {
		return nil, fmt.Errorf("evidence.timestamp_ca_file %s: %w", c.TimestampCAFile, err)
	}
	g := &netguard.Guard{AllowPrivate: c.TimestampAllowPrivate}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil // the guard must see the TSA's own address
	tr.DialContext = g.Dialer(c.TimestampTimeout.D()).DialContext
	return &evidence.Timestamper{
		URL: c.TimestampURL,
		Client: &http.Client{Transport: tr, Timeout: c.TimestampTimeout.D(),
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		Roots:  roots,
		Logger: log,
	}, nil
}

// Version is the version written into the archive's records: the
// module version and VCS revision the binary was built from.
func Version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	v := bi.Main.Version
	if v == "" || v == "(devel)" {
		v = "dev"
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += "+" + s.Value[:12]
		}
	}
	return v
}

// EvidenceKeep tells retention to keep every capture a lead refers to,
// whatever the lead's state (dismissed and closed leads included): evidence
// of a case may be asked for long after it closed. Only captures whose
// lead no longer exists in the lead store are let go.
func EvidenceKeep(leads alerts.Store) evidence.KeepFunc {
	return func(ctx context.Context, leadID, _ string) (bool, error) {
		if leadID == "" {
			return false, nil
		}
		_, err := leads.GetLead(ctx, leadID)
		if errors.Is(err, alerts.ErrNotFound) {
			return false, nil
		}
		return err == nil, err
	}
}

// runEvidenceRetention prunes the archive now and then every day until ctx
// ends (evidence.retention; 0 keeps every file). A node's archive on a
// shared folder (OpenEvidencePG) is not pruned here: one node prunes for
// all, EvidenceRetention run under the leader lock.
func runEvidenceRetention(ctx context.Context, a *evidence.Archive, leads alerts.Store, retention time.Duration, log *slog.Logger) {
	if a == nil || a.Node() != "" {
		return
	}
	pruneEvidence(ctx, a, leads, retention, log)
}

// EvidenceRetention is the retention loop of an archive on a folder shared
// by several nodes, to be run by one node only: the one holding the
// leader lock (among the loops runSingletons runs). It prunes every node's
// sealed files and never a file still being written.
func EvidenceRetention(a *evidence.Archive, leads alerts.Store, retention time.Duration, log *slog.Logger) func(context.Context) {
	return func(ctx context.Context) { pruneEvidence(ctx, a, leads, retention, log) }
}

// pruneEvidence prunes now and then every day until ctx ends.
func pruneEvidence(ctx context.Context, a *evidence.Archive, leads alerts.Store, retention time.Duration, log *slog.Logger) {
	if a == nil || retention <= 0 {
		return
	}
	prune := func() {
		res, err := a.Prune(ctx, time.Now().Add(-retention), EvidenceKeep(leads))
		if err != nil {
			log.Error("evidence retention", "error", err)
			return
		}
		if len(res.Deleted) > 0 || len(res.Held) > 0 {
			log.Info("evidence retention", "files_deleted", len(res.Deleted), "captures_deleted", res.Captures,
				"bytes_deleted", res.Bytes, "files_held_by_leads", len(res.Held))
		}
	}
	prune()
	t := time.NewTicker(24 * time.Hour)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			prune()
		}
	}
}
