package service

// The evidence archive as the process uses it: the pipeline archives the
// page of each post that files a lead (package pipeline), serve prunes old files
// (runEvidenceRetention), and the lead page and `leads export-evidence`
// read it back.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"runtime/debug"
	"time"

	"riskmine/alerts"
	"riskmine/config"
	"riskmine/evidence"
	"riskmine/netguard"
)

// OpenEvidence opens <data_dir>/evidence with its index in riskmine.db and
// logs what the repair of files left open by a crash did; nil when the
// archive is turned off.
func OpenEvidence(ctx context.Context, cfg *config.Config, log *slog.Logger) (*evidence.Archive, error) {
	if !cfg.Evidence.Enabled {
		return nil, nil
	}
	floor := NewDiskFloor(cfg.DataDir, cfg.Data.MinFreeBytes)
	ts, err := EvidenceTimestamper(cfg.Evidence, log)
	if err != nil {
		return nil, err
	}
	a, rep, err := evidence.Open(ctx, evidence.Options{
		Dir:          filepath.Join(cfg.DataDir, "evidence"),
		DB:           filepath.Join(cfg.DataDir, "riskmine.db"),
		MaxFileBytes: cfg.Evidence.MaxFileBytes,
		Version:      Version(),
		SpaceCheck:   floor.Check,
		Timestamper:  ts,
	})
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
// ends (evidence.retention; 0 keeps every file).
func runEvidenceRetention(ctx context.Context, a *evidence.Archive, leads alerts.Store, retention time.Duration, log *slog.Logger) {
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
