package evidence

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
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
// cut: a file goes whole or stays. A file being written (named .open, by
// this process or any other, on any node) is never deleted: a file is
// sealed only once its last capture is indexed, and never written again.
// A sealed file with no indexed capture (records left by a failed write)
// goes when it was last modified before the cutoff; on a node (a shared
// folder) only in a node's subfolder, since a file at the top was written
// in the embedded mode and may lack rows only because its index was not
// brought along.
//
// On a folder shared by several nodes one node prunes, for all of them
// (the caller runs it under the cluster's leader lock); two running at
// once would only delete the same files twice.
func (a *Archive) Prune(ctx context.Context, cutoff time.Time, keep KeepFunc) (PruneResult, error) {
	var res PruneResult
	top, err := filepath.Glob(filepath.Join(a.opts.Dir, "*"+fileSuffix))
	if err != nil {
		return res, fmt.Errorf("evidence: %w", err)
	}
	nodes, err := filepath.Glob(filepath.Join(a.opts.Dir, "*", "*"+fileSuffix))
	if err != nil {
		return res, fmt.Errorf("evidence: %w", err)
	}
	paths := append(top, nodes...)
	sort.Strings(paths)
	for _, path := range paths {
		rel, err := filepath.Rel(a.opts.Dir, path)
		if err != nil {
			continue
		}
		name := filepath.ToSlash(rel)
		if !validFileName(name) {
			continue
		}
		a.mu.Lock()
		current := a.cur != nil && a.cur.name == name
		a.mu.Unlock()
		if current {
			continue
		}
		info, err := os.Stat(path)
		if err != nil || !info.Mode().IsRegular() {
			continue // removed meanwhile
		}
		caps, err := a.idx.InFile(ctx, name)
		if err != nil {
			return res, err
		}
		if len(caps) == 0 && a.opts.Node != "" && !strings.Contains(name, "/") {
			continue
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
		if _, err := a.idx.DeleteFile(ctx, name); err != nil {
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
