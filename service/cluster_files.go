package service

// The files an administrator changes on one node of a PostgreSQL
// installation and every node must run with: the lexicon files of
// nlp.lexicon_dir (edited on the lexicon page of an api node, used by the
// workers' analyzers) and the detection model file of nlp.model (put live
// by a reload on one node). Their contents are kept in PostgreSQL, each
// node writes them into its own folder, and a NOTIFY tells every node to
// read them again and reload.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5/pgxpool"

	"riskmine/internal/atomicfile"
	"riskmine/internal/pgdb"
)

// clusterFilesSteps are the migrations of the cluster_ tables. A released
// step never changes.
var clusterFilesSteps = []string{
	`CREATE SEQUENCE cluster_files_version;
	CREATE TABLE cluster_files (
		key        TEXT PRIMARY KEY,
		body       BYTEA,
		version    BIGINT NOT NULL,
		changed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
		node       TEXT NOT NULL
	)`,
}

// clusterFilesChannel is the NOTIFY channel of changed files; the message
// is the kind that changed (filesLexicons or filesModel).
const clusterFilesChannel = "riskmine_cluster_files"

const (
	filesLexicons = "lexicons"
	filesModel    = "model"
	// lexiconKey prefixes the key of a lexicon file (its base name).
	lexiconKey = "lexicon/"
	// modelKey is the key of the model file.
	modelKey = "model"
)

// clusterFiles keeps one node's lexicon folder and model file in step with
// the installation's copies in PostgreSQL. A row with no body is a file
// removed (a lexicon restored to its embedded version).
type clusterFiles struct {
	pool *pgxpool.Pool
	node string
	// lexDir is nlp.lexicon_dir ("" keeps lexicons out of it); model is
	// nlp.model when it names a file ("" otherwise).
	lexDir, model string
	// reloadLexicons and reloadModel put what was written live.
	reloadLexicons func() error
	reloadModel    func() (string, error)
	log            *slog.Logger

	mu sync.Mutex
	// have is, per key, the body this node last wrote or sent (nil for a
	// file it knows as removed): a file that differs was changed here.
	have map[string][]byte
	// version is, per key, the newest version this node has applied.
	version map[string]int64
}

// MigrateClusterTables brings the cluster_ tables of pool's schema up to
// date (serve does it at start; riskmine migrate makes them beside the
// stores' tables).
func MigrateClusterTables(ctx context.Context, pool *pgxpool.Pool) error {
	if err := pgdb.Migrate(ctx, pool, "cluster", clusterFilesSteps); err != nil {
		return fmt.Errorf("cluster files: %w", err)
	}
	return nil
}

func newClusterFiles(ctx context.Context, pool *pgxpool.Pool, node, lexDir, model string, reloadLexicons func() error, reloadModel func() (string, error), log *slog.Logger) (*clusterFiles, error) {
	if err := MigrateClusterTables(ctx, pool); err != nil {
		return nil, err
	}
	switch model {
	case "", "default", "none":
		model = ""
	}
	return &clusterFiles{pool: pool, node: node, lexDir: lexDir, model: model,
		reloadLexicons: reloadLexicons, reloadModel: reloadModel, log: log,
		have: map[string][]byte{}, version: map[string]int64{}}, nil
}

// start brings this node's files in step (the installation's copies win
// over local ones; local lexicon files it has none of are sent, as when
// an embedded installation moves to PostgreSQL) and then listens for
// changes until ctx ends.
func (c *clusterFiles) start(ctx context.Context) error {
	if _, err := c.apply(ctx, filesLexicons); err != nil {
		return err
	}
	if _, err := c.apply(ctx, filesModel); err != nil {
		return err
	}
	if err := c.publishLexicons(ctx); err != nil {
		return err
	}
	go pgdb.Listen(ctx, c.pool, clusterFilesChannel, func() {
		// Changes sent while the listener was down are read again.
		c.sync(ctx, filesLexicons)
		c.sync(ctx, filesModel)
	}, func(kind string) { c.sync(ctx, kind) })
	return nil
}

// sync applies the installation's files of kind and reloads what changed,
// logging failures (a listener has no one to return them to).
func (c *clusterFiles) sync(ctx context.Context, kind string) {
	changed, err := c.apply(ctx, kind)
	if err != nil {
		c.log.Error("cluster files: not applied", "kind", kind, "error", err)
		return
	}
	if !changed {
		return
	}
	switch kind {
	case filesLexicons:
		if err := c.reloadLexicons(); err != nil {
			c.log.Error("cluster files: lexicons changed on another node not reloaded", "error", err)
			return
		}
		c.log.Info("lexicons changed on another node reloaded")
	case filesModel:
		if _, err := c.reloadModel(); err != nil {
			c.log.Error("cluster files: model put live on another node not reloaded", "error", err)
		}
	}
}

// apply writes the installation's files of kind newer than this node's
// into its folders and reports whether any changed.
func (c *clusterFiles) apply(ctx context.Context, kind string) (bool, error) {
	like := lexiconKey + "%"
	if kind == filesModel {
		like = modelKey
	}
	if (kind == filesModel && c.model == "") || (kind == filesLexicons && c.lexDir == "") {
		return false, nil
	}
	rows, err := c.pool.Query(ctx, `SELECT key, body, version FROM cluster_files WHERE key LIKE $1 ORDER BY key`, like)
	if err != nil {
		return false, err
	}
	type file struct {
		key     string
		body    []byte
		version int64
	}
	var files []file
	for rows.Next() {
		var f file
		if err := rows.Scan(&f.key, &f.body, &f.version); err != nil {
			rows.Close()
			return false, err
		}
		files = append(files, f)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return false, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	changed := false
	for _, f := range files {
		if f.version <= c.version[f.key] {
			continue
		}
		path := c.model
		if kind == filesLexicons {
			name := strings.TrimPrefix(f.key, lexiconKey)
			if name != filepath.Base(name) || !strings.HasSuffix(name, ".yaml") {
				return changed, fmt.Errorf("cluster_files: key %q is not a lexicon file name", f.key)
			}
			path = filepath.Join(c.lexDir, name)
		}
		wrote, err := c.writeLocal(path, f.body)
		if err != nil {
			return changed, err
		}
		c.version[f.key] = f.version
		c.have[f.key] = f.body
		// A file already as the installation has it is not a change: it
		// is this node's own, read back before its put had noted the
		// version (the listener's first sync can run in between).
		changed = changed || wrote
	}
	return changed, nil
}

// writeLocal puts body at path (nil removes it), unless it is there
// already, and reports whether it changed the file.
func (c *clusterFiles) writeLocal(path string, body []byte) (bool, error) {
	cur, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if body == nil {
			return false, nil
		}
	case err != nil:
		return false, err
	case body != nil && bytes.Equal(cur, body):
		return false, nil
	}
	if body == nil {
		return true, os.Remove(path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return false, err
	}
	return true, atomicfile.Write(path, body)
}

// publishLexicons sends the lexicon files changed on this node (written,
// or removed, since it last wrote or sent them) and tells every node.
// Files this node did not change are not sent, so an edit another node
// made meanwhile is not overwritten with this node's older copy.
func (c *clusterFiles) publishLexicons(ctx context.Context) error {
	if c.lexDir == "" {
		return nil
	}
	names, err := filepath.Glob(filepath.Join(c.lexDir, "*.yaml"))
	if err != nil {
		return err
	}
	local := map[string][]byte{}
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			return err
		}
		local[lexiconKey+filepath.Base(n)] = b
	}
	c.mu.Lock()
	var keys []string
	for k := range local {
		keys = append(keys, k)
	}
	for k, b := range c.have {
		if _, ok := local[k]; !ok && b != nil && strings.HasPrefix(k, lexiconKey) {
			keys = append(keys, k) // removed here
		}
	}
	sort.Strings(keys)
	var send []string
	for _, k := range keys {
		prev, known := c.have[k]
		if known && bytes.Equal(prev, local[k]) && (prev == nil) == (local[k] == nil) {
			continue
		}
		send = append(send, k)
	}
	c.mu.Unlock()
	if len(send) == 0 {
		return nil
	}
	for _, k := range send {
		if err := c.put(ctx, k, local[k]); err != nil {
			return err
		}
	}
	c.log.Info("lexicon files sent to the other nodes", "files", len(send))
	return pgdb.Notify(ctx, c.pool, clusterFilesChannel, filesLexicons)
}

// publishModel sends the model file this node has just put live, when it
// differs from the installation's, and tells every node.
func (c *clusterFiles) publishModel(ctx context.Context) error {
	if c.model == "" {
		return nil
	}
	b, err := os.ReadFile(c.model)
	if err != nil {
		return fmt.Errorf("nlp.model: %w", err)
	}
	c.mu.Lock()
	same := bytes.Equal(c.have[modelKey], b)
	c.mu.Unlock()
	if same {
		return nil
	}
	if err := c.put(ctx, modelKey, b); err != nil {
		return err
	}
	c.log.Info("model file sent to the other nodes", "bytes", len(b))
	return pgdb.Notify(ctx, c.pool, clusterFilesChannel, filesModel)
}

// put stores body under key with a new version, and remembers it as this
// node's.
func (c *clusterFiles) put(ctx context.Context, key string, body []byte) error {
	var v int64
	err := c.pool.QueryRow(ctx, `INSERT INTO cluster_files (key, body, version, node) VALUES ($1, $2, nextval('cluster_files_version'), $3)
		ON CONFLICT (key) DO UPDATE SET body = excluded.body, version = excluded.version, changed_at = now(), node = excluded.node
		RETURNING version`, key, body, c.node).Scan(&v)
	if err != nil {
		return fmt.Errorf("cluster_files %s: %w", key, err)
	}
	c.mu.Lock()
	c.have[key] = body
	if v > c.version[key] {
		c.version[key] = v
	}
	c.mu.Unlock()
	return nil
}
