package evidence

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// BackupReport tells what CopyArchive copied.
type BackupReport struct {
	// Files and Bytes count the WARC files copied and their size.
	Files int   `json:"files"`
	Bytes int64 `json:"bytes"`
	// Captures is how many index rows of the database copy the copied
	// files were checked against.
	Captures int `json:"captures"`
	// Key is set when the signing key pair was copied.
	Key bool `json:"signing_key"`
}

// CopyArchive copies the archive folder src into the new folder dst for a
// backup, while the archive may be appended to by a running process.
// dbCopy is the copy of the database taken just before: a capture's
// records are fsynced before its index row commits, so every row of that
// copy names bytes that were on disk before the copy started. Sealed files
// never change and are copied whole; the file being written is copied up
// to the end of its last complete record and sealed in the copy (named
// without .open), as the repair after a crash would. The installation's
// signing key pair is copied too (0600): bundles exported after a restore
// must verify with the key the installation published. The copy is then
// checked against dbCopy: every capture row must lie within a copied file;
// a file that retention deleted during the copy fails the backup, to be
// taken again. A missing src (the archive never used) copies nothing.
func CopyArchive(ctx context.Context, src, dst, dbCopy string) (BackupReport, error) {
	var rep BackupReport
	entries, err := os.ReadDir(src)
	if errors.Is(err, fs.ErrNotExist) {
		return rep, nil
	}
	if err != nil {
		return rep, fmt.Errorf("evidence: backup: %w", err)
	}
	if err := os.MkdirAll(dst, 0o700); err != nil {
		return rep, fmt.Errorf("evidence: backup: %w", err)
	}
	for _, name := range []string{signingKeyFile, PublicKeyFile} {
		n, err := copyPrefix(filepath.Join(src, name), filepath.Join(dst, name), -1)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return rep, fmt.Errorf("evidence: backup: %s: %w", name, err)
		}
		rep.Key = rep.Key || (name == signingKeyFile && n > 0)
	}
	sizes := map[string]int64{}
	for _, de := range entries {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		name := de.Name()
		switch {
		case strings.HasSuffix(name, fileSuffix):
			n, err := copyPrefix(filepath.Join(src, name), filepath.Join(dst, name), -1)
			if errors.Is(err, fs.ErrNotExist) {
				continue // deleted by retention since the listing; checked below
			}
			if err != nil {
				return rep, fmt.Errorf("evidence: backup: %s: %w", name, err)
			}
			sizes[name] = n
		case strings.HasSuffix(name, fileSuffix+openSuffix):
			sealed := strings.TrimSuffix(name, openSuffix)
			n, err := copyOpenFile(src, name, filepath.Join(dst, sealed))
			if err != nil {
				return rep, fmt.Errorf("evidence: backup: %s: %w", name, err)
			}
			if n > 0 {
				sizes[sealed] = n
			}
		}
	}
	for _, n := range sizes {
		rep.Files++
		rep.Bytes += n
	}
	caps, err := checkCopy(ctx, dbCopy, sizes)
	if err != nil {
		return rep, err
	}
	rep.Captures = caps
	return rep, syncDir(dst)
}

// copyOpenFile copies the file being written up to the end of its last
// complete record. A record being appended meanwhile is left out: its
// index row was not in the database copy either. The file may be sealed
// (renamed) between the listing and the open; then the sealed one is
// copied whole.
func copyOpenFile(dir, name, dst string) (int64, error) {
	f, err := os.Open(filepath.Join(dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		n, err := copyPrefix(filepath.Join(dir, strings.TrimSuffix(name, openSuffix)), dst, -1)
		if errors.Is(err, fs.ErrNotExist) {
			return 0, nil
		}
		return n, err
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	end, members, err := completeRecords(f, 0)
	if err != nil {
		return 0, err
	}
	if members == 0 {
		return 0, nil // only a record in progress: nothing to keep
	}
	return copyPrefix(f.Name(), dst, end)
}

// copyPrefix copies the first n bytes of src (all of it when n < 0) to the
// new file dst (0600) and syncs it.
func copyPrefix(src, dst string, n int64) (int64, error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return 0, err
	}
	var r io.Reader = in
	if n >= 0 {
		r = io.LimitReader(in, n)
	}
	w, err := io.Copy(out, r)
	if err == nil && n >= 0 && w != n {
		err = fmt.Errorf("%s is shorter than %d bytes", src, n)
	}
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return w, err
}

// checkCopy checks that every capture row of the database at dbPath lies
// within a copied file (sizes by name) and returns how many rows there are.
func checkCopy(ctx context.Context, dbPath string, sizes map[string]int64) (int, error) {
	db, err := sql.Open("sqlite", readOnlyDSN(dbPath))
	if err != nil {
		return 0, fmt.Errorf("evidence: backup: %w", err)
	}
	defer db.Close()
	var tables int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'evidence_capture'`).Scan(&tables); err != nil {
		return 0, fmt.Errorf("evidence: backup: check %s: %w", dbPath, err)
	}
	if tables == 0 {
		return 0, nil // the archive was never opened on this database
	}
	rows, err := db.QueryContext(ctx, `SELECT file, max(offset + length), count(*) FROM evidence_capture GROUP BY file`)
	if err != nil {
		return 0, fmt.Errorf("evidence: backup: check %s: %w", dbPath, err)
	}
	defer rows.Close()
	total := 0
	var short []string
	for rows.Next() {
		var file string
		var end int64
		var n int
		if err := rows.Scan(&file, &end, &n); err != nil {
			return 0, fmt.Errorf("evidence: backup: check %s: %w", dbPath, err)
		}
		total += n
		if size, ok := sizes[file]; !ok || size < end {
			short = append(short, fmt.Sprintf("%s (indexed up to byte %d, copied %d)", file, end, size))
		}
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("evidence: backup: check %s: %w", dbPath, err)
	}
	if len(short) > 0 {
		sort.Strings(short)
		return 0, fmt.Errorf("evidence: backup: the archive's index names records the copy lacks, in %s (files deleted by retention during the backup?); take the backup again",
			strings.Join(short, ", "))
	}
	return total, nil
}

// CheckCopy reads every capture the index of the database at dbPath
// names from the archive folder dir, and checks each record's digests and
// that the response record is the one indexed, with the digest indexed.
// restore runs it on a backup before putting it in place. It returns the
// number of captures checked.
func CheckCopy(ctx context.Context, dir, dbPath string) (int, error) {
	db, err := sql.Open("sqlite", readOnlyDSN(dbPath))
	if err != nil {
		return 0, fmt.Errorf("evidence: check: %w", err)
	}
	defer db.Close()
	var tables int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'evidence_capture'`).Scan(&tables); err != nil || tables == 0 {
		return 0, err
	}
	rows, err := db.QueryContext(ctx, `SELECT `+entryColumns+` FROM evidence_capture ORDER BY file, offset`)
	if err != nil {
		return 0, fmt.Errorf("evidence: check: %w", err)
	}
	defer rows.Close()
	var list []Entry
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return 0, fmt.Errorf("evidence: check: %w", err)
		}
		list = append(list, e)
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("evidence: check: %w", err)
	}
	rows.Close()
	for _, e := range list {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		if err := checkEntry(dir, e); err != nil {
			return 0, fmt.Errorf("evidence: check capture %d (%s in %s): %w", e.ID, e.URL, e.File, err)
		}
	}
	return len(list), nil
}

func checkEntry(dir string, e Entry) error {
	if !validFileName(e.File) {
		return fmt.Errorf("bad file name %q", e.File)
	}
	f, err := os.Open(filepath.Join(dir, filepath.FromSlash(e.File)))
	if err != nil {
		return err
	}
	defer f.Close()
	buf := make([]byte, e.Length)
	if _, err := f.ReadAt(buf, e.Offset); err != nil {
		return err
	}
	recs, err := ParseRecords(buf)
	if err != nil {
		return err
	}
	for _, r := range recs {
		if r.Type == TypeResponse {
			if r.ID != e.ResponseID || r.PayloadDigest != e.PayloadDigest {
				return fmt.Errorf("response record %s %s, indexed %s %s", r.ID, r.PayloadDigest, e.ResponseID, e.PayloadDigest)
			}
			return nil
		}
	}
	return errors.New("no response record")
}

func readOnlyDSN(path string) string {
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?mode=ro&_pragma=busy_timeout(10000)"
}
