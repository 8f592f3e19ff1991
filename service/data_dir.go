package service

import (
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
)

// PrepareDataDir creates the data folder and keeps it private: the folder
// and its subfolders 0700, its files 0600, whatever the umask (the database
// holds password hashes, the index holds every post). Files created later by
// this process get the same modes through a umask of 077. What had to be
// tightened is logged once.
func PrepareDataDir(dir string, log *slog.Logger) error {
	restrictUmask()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	var dirs, files int
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return nil // not ours to change
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		want := fs.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		} else if !d.Type().IsRegular() {
			return nil
		}
		if info.Mode().Perm()&0o077 == 0 {
			return nil
		}
		if err := os.Chmod(path, info.Mode().Perm()&^0o077|want&0o700); err != nil {
			return err
		}
		if d.IsDir() {
			dirs++
		} else {
			files++
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("data dir: tighten permissions: %w", err)
	}
	if dirs+files > 0 && log != nil {
		log.Info("data folder made private to its owner", "data_dir", dir, "folders", dirs, "files", files)
	}
	return nil
}
