package index

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/blevesearch/bleve/v2"
)

// Backup writes a consistent copy of the index into the folder dir, which
// must not exist or be empty, while the index stays open for reads and
// writes. Pending documents are flushed first; each shard is then copied
// from one persisted snapshot (Bleve's online copy), so documents written
// during the copy are either wholly in it or not at all. The copy is an
// index that Open reads like the original; each shard of it is opened
// once to count its documents, which Backup returns.
func (ix *Index) Backup(ctx context.Context, dir string) (uint64, error) {
	if err := ix.Flush(ctx); err != nil {
		return 0, fmt.Errorf("index: backup: %w", err)
	}
	if err := emptyDir(dir); err != nil {
		return 0, fmt.Errorf("index: backup: %w", err)
	}
	ix.mu.Lock()
	closed := ix.closed
	ix.mu.Unlock()
	if closed {
		return 0, fmt.Errorf("index: backup: %w", ErrClosed)
	}
	// An index made before sharding is one Bleve index in its folder; a
	// sharded one records its layout, then one folder per shard.
	legacy := len(ix.shards) == 1 && isFile(filepath.Join(ix.path, "index_meta.json"))
	if !legacy {
		raw, _ := json.Marshal(layout{Shards: len(ix.shards)})
		if err := os.WriteFile(filepath.Join(dir, layoutFile), append(raw, '\n'), 0o644); err != nil {
			return 0, fmt.Errorf("index: backup: %w", err)
		}
	}
	var docs uint64
	for i, sh := range ix.shards {
		if err := ctx.Err(); err != nil {
			return 0, fmt.Errorf("index: backup: %w", err)
		}
		dst := dir
		if !legacy {
			dst = filepath.Join(dir, fmt.Sprintf("shard-%d", i))
		}
		cp, ok := sh.bi.(bleve.IndexCopyable)
		if !ok {
			return 0, errors.New("index: backup: this Bleve index cannot be copied online")
		}
		if err := cp.CopyTo(bleve.FileSystemDirectory(dst)); err != nil {
			return 0, fmt.Errorf("index: backup shard %d to %s: %w", i, dst, err)
		}
		n, err := countCopy(dst)
		if err != nil {
			return 0, fmt.Errorf("index: backup shard %d: the copy does not open: %w", i, err)
		}
		docs += n
	}
	if err := syncTree(dir); err != nil {
		return 0, fmt.Errorf("index: backup: %w", err)
	}
	return docs, nil
}

// countCopy opens the copied shard at path and counts its documents.
func countCopy(path string) (uint64, error) {
	bi, err := bleve.OpenUsing(path, scorchConfig())
	if err != nil {
		return 0, err
	}
	n, err := bi.DocCount()
	return n, errors.Join(err, bi.Close())
}

// emptyDir creates dir, or checks that it is empty.
func emptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return os.MkdirAll(dir, 0o755)
	}
	if err != nil {
		return err
	}
	if len(entries) > 0 {
		return fmt.Errorf("%s is not empty", dir)
	}
	return nil
}

// syncTree flushes the files and folders under dir to the disk, so a copy
// reported done survives a power cut.
func syncTree(dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := f.Sync(); err != nil && d.Type().IsRegular() {
			return fmt.Errorf("sync %s: %w", p, err)
		}
		return nil
	})
}
