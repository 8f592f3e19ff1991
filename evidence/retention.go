package evidence

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// KeepFunc tells retention whether a capture must be kept: true while the
// lead it is evidence for (by id, or the lead that has url as a source)
// is open.
type KeepFunc func(ctx context.Context, leadID, url string) (bool, error)

// PruneResult tells what retention deleted and what it kept.
type PruneResult struct {
	// Deleted are the files removed, with their captures' index rows.
	Deleted []string
	// Captures is how many index rows went with them; Bytes their size.
	Captures int
	Bytes    int64
	// Held are old files kept because a capture in them belongs to an
	// open lead.
	Held []string
}

// Prune deletes whole sealed files whose every capture was archived before
// the cutoff and none of whose captures keep says to keep. Files are never
// cut: a file goes whole or stays. The file being written is never
// deleted. A sealed file with no indexed capture (records left by a failed
// write) goes when it was last modified before the cutoff.
func (a *Archive) Prune(ctx context.Context, cutoff time.Time, keep KeepFunc) (PruneResult, error) {
	var res PruneResult
	paths, err := filepath.Glob(filepath.Join(a.opts.Dir, "*"+fileSuffix))
	if err != nil {
		return res, fmt.Errorf("evidence: %w", err)
	}
	sort.Strings(paths)
	for _, path := range paths {
		name := filepath.Base(path)
		a.mu.Lock()
		current := a.cur != nil && a.cur.name == name
		a.mu.Unlock()
		if current {
			continue
		}
		info, err := os.Stat(path)
		if err != nil {
			continue // removed meanwhile
		}
		caps, err := a.inFile(ctx, name)
		if err != nil {
			return res, err
		}
		newest := info.ModTime()
		if len(caps) > 0 {
			newest = time.Time{}
			for _, e := range caps {
				if e.ArchivedAt.After(newest) {
					newest = e.ArchivedAt
				}
			}
		}
		if !newest.Before(cutoff) {
			continue
		}
		held := false
		for _, e := range caps {
			k, err := keep(ctx, e.LeadID, e.URL)
			if err != nil {
				return res, fmt.Errorf("evidence: retention of %s: %w", name, err)
			}
			if k {
				held = true
				break
			}
		}
		if held {
			res.Held = append(res.Held, name)
			continue
		}
		if _, err := a.db.ExecContext(ctx, `DELETE FROM evidence_capture WHERE file = ?`, name); err != nil {
			return res, fmt.Errorf("evidence: retention of %s: %w", name, err)
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return res, fmt.Errorf("evidence: retention: %w", err)
		}
		res.Deleted = append(res.Deleted, name)
		res.Captures += len(caps)
		res.Bytes += info.Size()
	}
	return res, nil
}

// inFile lists the captures indexed in a file.
func (a *Archive) inFile(ctx context.Context, name string) ([]Entry, error) {
	rows, err := a.db.QueryContext(ctx, `SELECT `+entryColumns+` FROM evidence_capture WHERE file = ?`, name)
	if err != nil {
		return nil, fmt.Errorf("evidence: captures in %s: %w", name, err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return nil, fmt.Errorf("evidence: captures in %s: %w", name, err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("evidence: captures in %s: %w", name, err)
	}
	return out, nil
}
