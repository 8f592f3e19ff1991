package service

import (
	"errors"
	"fmt"
)

// ErrLowDisk is wrapped by the error of a write refused because the data
// folder is short of space.
var ErrLowDisk = errors.New("not enough free space")

// DiskFloor watches the free space of the data folder against
// data.min_free_bytes: under the floor, readiness fails and the pipeline
// and the API refuse writes with an error naming the folder, before the
// disk fills up and writes fail halfway. When space returns, they go on
// without a restart.
type DiskFloor struct {
	dir string
	min int64
	// free returns the bytes available to the process under dir (nil:
	// the file system's figure).
	free func(dir string) (int64, error)
}

func NewDiskFloor(dir string, min int64) *DiskFloor {
	return &DiskFloor{dir: dir, min: min, free: freeBytes}
}

// check returns an error wrapping ErrLowDisk when the data folder's free
// space is under the floor. A folder whose free space cannot be read
// passes: the writes themselves will say what is wrong.
func (f *DiskFloor) Check() error {
	if f == nil || f.min <= 0 {
		return nil
	}
	n, err := f.free(f.dir)
	if err != nil || n < 0 {
		return nil
	}
	if n < f.min {
		return fmt.Errorf("data folder %s: %w: %d bytes free, under data.min_free_bytes (%d); writes resume when space is freed", f.dir, ErrLowDisk, n, f.min)
	}
	return nil
}
