// Package atomicfile replaces a file's contents whole: a reader sees the
// old file or the new one, never half of one.
package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
)

// Write writes b to path through a temporary file in the same folder,
// synced, made readable (0644) and renamed over path.
func Write(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	_, werr := f.Write(b)
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		os.Remove(f.Name())
		return err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		os.Remove(f.Name())
		return err
	}
	return os.Rename(f.Name(), path)
}
