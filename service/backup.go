package service

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"riskmine/config"
	"riskmine/evidence"
	"riskmine/index"
)

// Layout of a backup folder: the same names as a data folder, so a backup
// is also a data folder that serve can start on, plus a manifest.
const (
	BackupManifestFile = "riskmine-backup.json"
	dbFile             = "riskmine.db"
	indexDir           = "index"
	// evidenceDir holds the evidence archive: WARC files and the signing
	// key (its index is in the database).
	evidenceDir = "evidence"
	// backupSocketFile, in the data folder, is where a running serve takes
	// backup requests: only it can copy the index it holds open.
	backupSocketFile = "riskmine.sock"
)

// BackupManifest describes a backup.
type BackupManifest struct {
	CreatedAt time.Time `json:"created_at"`
	// Online is true when the running serve wrote the copy.
	Online bool `json:"online"`
	// DatabaseBytes and IndexDocuments describe what was copied.
	DatabaseBytes  int64  `json:"database_bytes"`
	IndexDocuments uint64 `json:"index_documents"`
	// Evidence describes the copy of the evidence archive; nil when the
	// data folder has none.
	Evidence *evidence.BackupReport `json:"evidence,omitempty"`
}

// Backup writes a backup of cfg's data folder to dest (an absolute path):
// the running serve writes it when one answers on the data folder's
// socket, else the data folder is opened here.
func Backup(ctx context.Context, cfg *config.Config, dest string) (*BackupManifest, error) {
	if cfg.Cluster.Postgres() {
		return nil, errNoBackup
	}
	if !isFile(filepath.Join(cfg.DataDir, dbFile)) {
		return nil, fmt.Errorf("no %s in the data folder %s: nothing to back up", dbFile, cfg.DataDir)
	}
	m, err := requestBackup(ctx, cfg.DataDir, dest)
	if errors.Is(err, ErrNoServe) {
		m, err = offlineBackup(ctx, cfg, dest)
	}
	return m, err
}

// RestoreReport says what Restore checked and put in place.
type RestoreReport struct {
	Manifest BackupManifest
	// Documents is the number of documents of the restored index.
	Documents uint64
	// Evidence is true when the backup had an evidence archive, whose
	// Captures were read back with their digests checked.
	Evidence bool
	Captures int
}

// Restore checks the backup folder src and puts a copy of it in place as
// cfg's data folder, never overwriting: the database passes SQLite's
// quick_check, the index opens and counts its documents, and every capture
// of the evidence archive is read back, before anything is moved in.
func Restore(ctx context.Context, cfg *config.Config, src string) (*RestoreReport, error) {
	if cfg.Cluster.Postgres() {
		return nil, errNoBackup
	}
	var m BackupManifest
	raw, err := os.ReadFile(filepath.Join(src, BackupManifestFile))
	if err != nil {
		return nil, fmt.Errorf("%s is not a riskmine backup (no %s): %w", src, BackupManifestFile, err)
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("%s: %s: %w", src, BackupManifestFile, err)
	}
	names := []string{dbFile, indexDir}
	for _, name := range names {
		if _, err := os.Stat(filepath.Join(src, name)); err != nil {
			return nil, fmt.Errorf("%s is incomplete: %w", src, err)
		}
	}
	if isDir(filepath.Join(src, evidenceDir)) {
		names = append(names, evidenceDir)
	}
	for _, name := range names {
		if _, err := os.Stat(filepath.Join(cfg.DataDir, name)); err == nil {
			return nil, fmt.Errorf("the data folder %s already holds %s; stop serve and move it away first (restore never overwrites)", cfg.DataDir, name)
		}
	}
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(cfg.DataDir, ".restore-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	if err := copyTree(src, tmp); err != nil {
		return nil, fmt.Errorf("restore: copy %s: %w", src, err)
	}
	if err := checkDatabase(ctx, filepath.Join(tmp, dbFile)); err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	tcfg := *cfg
	tcfg.DataDir = tmp
	ix, err := OpenIndex(&tcfg, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, fmt.Errorf("restore: the index of %s does not open: %w", src, err)
	}
	docs, cerr := ix.Count()
	if err := errors.Join(cerr, ix.Close()); err != nil {
		return nil, fmt.Errorf("restore: the index of %s: %w", src, err)
	}
	rep := &RestoreReport{Manifest: m, Documents: docs}
	if isDir(filepath.Join(tmp, evidenceDir)) {
		captures, err := evidence.CheckCopy(ctx, filepath.Join(tmp, evidenceDir), filepath.Join(tmp, dbFile))
		if err != nil {
			return nil, fmt.Errorf("restore: the evidence archive of %s: %w", src, err)
		}
		rep.Evidence, rep.Captures = true, captures
	}
	// A backup taken before backups held the archive has its index rows
	// but not its files: those were copied by hand, beside the backup.
	for _, name := range names {
		if err := os.Rename(filepath.Join(tmp, name), filepath.Join(cfg.DataDir, name)); err != nil {
			return nil, fmt.Errorf("restore: %w", err)
		}
	}
	syncDir(cfg.DataDir)
	return rep, nil
}

// ErrNoServe: no serve answers on the data folder's socket.
var ErrNoServe = errors.New("no running serve")

// requestBackup asks the serve running on dataDir to write the backup.
func requestBackup(ctx context.Context, dataDir, dest string) (*BackupManifest, error) {
	var d net.Dialer
	dctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	conn, err := d.DialContext(dctx, "unix", filepath.Join(dataDir, backupSocketFile))
	cancel()
	if err != nil {
		return nil, ErrNoServe
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if err := json.NewEncoder(conn).Encode(backupRequest{Dest: dest}); err != nil {
		return nil, fmt.Errorf("backup: ask serve: %w", err)
	}
	var rep backupReply
	if err := json.NewDecoder(bufio.NewReader(conn)).Decode(&rep); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("backup: interrupted; serve removes the partial copy (%w)", ctx.Err())
		}
		return nil, fmt.Errorf("backup: no answer from serve: %w", err)
	}
	if rep.Error != "" {
		return nil, errors.New(rep.Error)
	}
	return rep.Manifest, nil
}

// offlineBackup opens the data folder itself (no serve holds it).
func offlineBackup(ctx context.Context, cfg *config.Config, dest string) (*BackupManifest, error) {
	dataDir := cfg.DataDir
	ix, err := OpenIndex(cfg, slog.New(slog.DiscardHandler))
	if errors.Is(err, index.ErrLocked) {
		return nil, fmt.Errorf("backup: the index of %s is held by another process that does not answer on %s (an older serve? stop it, or back up while it is stopped): %w",
			dataDir, filepath.Join(dataDir, backupSocketFile), err)
	}
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	defer ix.Close()
	return writeBackup(ctx, dataDir, ix, dest, false)
}

type backupRequest struct {
	Dest string `json:"dest"`
}

type backupReply struct {
	Manifest *BackupManifest `json:"manifest,omitempty"`
	Error    string          `json:"error,omitempty"`
}

// writeBackup copies the database of dataDir, then its evidence archive,
// then ix, into dest. The database goes first: the crawl state it records
// is then never ahead of the index copied after it, and every capture its
// evidence index names was on disk before the archive is copied.
func writeBackup(ctx context.Context, dataDir string, ix *index.Index, dest string, online bool) (_ *BackupManifest, err error) {
	dbPath := filepath.Join(dataDir, dbFile)
	if !filepath.IsAbs(dest) {
		return nil, fmt.Errorf("backup: %s is not an absolute path", dest)
	}
	if entries, err := os.ReadDir(dest); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("backup: %s exists and is not empty; give a new folder", dest)
	}
	tmp := dest + ".partial"
	if err := os.RemoveAll(tmp); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	if err := os.MkdirAll(tmp, 0o750); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	m := &BackupManifest{CreatedAt: time.Now().UTC(), Online: online}
	if err := vacuumInto(ctx, dbPath, filepath.Join(tmp, dbFile)); err != nil {
		return nil, err
	}
	if err := checkDatabase(ctx, filepath.Join(tmp, dbFile)); err != nil {
		return nil, err
	}
	if fi, err := os.Stat(filepath.Join(tmp, dbFile)); err == nil {
		m.DatabaseBytes = fi.Size()
	}
	if isDir(filepath.Join(dataDir, evidenceDir)) {
		ev, err := evidence.CopyArchive(ctx, filepath.Join(dataDir, evidenceDir), filepath.Join(tmp, evidenceDir), filepath.Join(tmp, dbFile))
		if err != nil {
			return nil, err
		}
		m.Evidence = &ev
	}
	if m.IndexDocuments, err = ix.Backup(ctx, filepath.Join(tmp, indexDir)); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	raw, _ := json.MarshalIndent(m, "", "  ")
	if err := writeFileSync(filepath.Join(tmp, BackupManifestFile), append(raw, '\n')); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	os.Remove(dest) // an empty folder given as the destination
	if err := os.Rename(tmp, dest); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	syncDir(filepath.Dir(dest))
	return m, nil
}

// sqliteDSN is a DSN for the SQLite file at path with extra query options.
func sqliteDSN(path, query string) string {
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + query
}

// vacuumInto writes a consistent, compacted copy of the SQLite database at
// src to dst. It is a read transaction: writers in serve go on meanwhile.
func vacuumInto(ctx context.Context, src, dst string) error {
	db, err := sql.Open("sqlite", sqliteDSN(src, "mode=ro&_pragma=busy_timeout(10000)"))
	if err != nil {
		return fmt.Errorf("backup: open %s: %w", src, err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, dst); err != nil {
		return fmt.Errorf("backup: copy %s: %w", src, err)
	}
	return nil
}

// checkDatabase runs SQLite's quick_check on the database at path.
func checkDatabase(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite", sqliteDSN(path, "mode=ro"))
	if err != nil {
		return fmt.Errorf("check %s: %w", path, err)
	}
	defer db.Close()
	var res string
	if err := db.QueryRowContext(ctx, `PRAGMA quick_check`).Scan(&res); err != nil {
		return fmt.Errorf("check %s: %w", path, err)
	}
	if res != "ok" {
		return fmt.Errorf("check %s: the database is damaged: %s", path, res)
	}
	return nil
}

// startBackupSocket listens on the data folder's backup socket and returns
// the loop serving it until ctx ends; serve runs it beside its other
// loops. When the socket cannot be made, backups of the running serve are
// unavailable (logged) and the loop only waits.
func startBackupSocket(dataDir string, ix *index.Index, log *slog.Logger) func(context.Context) error {
	path := filepath.Join(dataDir, backupSocketFile)
	// A socket left by a killed serve answers nobody: remove it. A live one
	// cannot exist, since that serve would hold the index.
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
	}
	os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		log.Warn("backup socket unavailable: riskmine backup cannot copy this running serve", "path", path, "error", err)
		return func(ctx context.Context) error { <-ctx.Done(); return nil }
	}
	os.Chmod(path, 0o600)
	return func(ctx context.Context) error {
		stop := context.AfterFunc(ctx, func() { ln.Close() })
		defer stop()
		var wg sync.WaitGroup
		defer wg.Wait()
		// One backup at a time; a second request waits.
		var one sync.Mutex
		for {
			conn, err := ln.Accept()
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("backup socket: %w", err)
			}
			wg.Go(func() {
				defer conn.Close()
				var req backupRequest
				if err := json.NewDecoder(io.LimitReader(conn, 64<<10)).Decode(&req); err != nil {
					json.NewEncoder(conn).Encode(backupReply{Error: "backup: bad request: " + err.Error()})
					return
				}
				one.Lock()
				start := time.Now()
				m, err := writeBackup(ctx, dataDir, ix, req.Dest, true)
				one.Unlock()
				rep := backupReply{Manifest: m}
				if err != nil {
					rep.Error = err.Error()
					log.Error("backup failed", "dest", req.Dest, "error", err)
				} else {
					log.Info("backup written", "dest", req.Dest, "index_documents", m.IndexDocuments, "database_bytes", m.DatabaseBytes,
						"duration", time.Since(start).Round(time.Millisecond).String())
				}
				json.NewEncoder(conn).Encode(rep)
			})
		}
	}
}

// copyTree copies the regular files and folders under src into dst.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			perm := fs.FileMode(0o750)
			if rel == evidenceDir {
				perm = 0o700
			}
			return os.MkdirAll(target, perm)
		case d.Type().IsRegular():
			return copyFile(p, target)
		}
		return nil // sockets, links: not part of a backup
	})
}

// copyFile copies src to dst, at most as readable as src (the signing
// key stays 0600).
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, fi.Mode().Perm()&0o640)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func writeFileSync(path string, data []byte) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// syncDir flushes a folder's entries (a rename into it) to the disk.
func syncDir(dir string) {
	if f, err := os.Open(dir); err == nil {
		f.Sync()
		f.Close()
	}
}

func isDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}

func isFile(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}
