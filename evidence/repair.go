package evidence

import (
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// repair finds the files this node's processes left open when they died
// (no one holds their lock), cuts each back to the end of its last
// complete record and seals it. Other nodes' files are never touched: a
// lock taken over a network file system is not to be trusted to tell a
// live writer on another host from a dead one. A file without one complete record is removed. Index rows that
// point past the kept length are dropped (they cannot exist when the disk
// keeps what fsync promised, but a row must never point at nothing).
func (a *Archive) repair(ctx context.Context) (*RepairReport, error) {
	names, err := filepath.Glob(filepath.Join(a.writeDir(), "*"+fileSuffix+openSuffix))
	if err != nil {
		return nil, fmt.Errorf("evidence: %w", err)
	}
	sort.Strings(names)
	rep := &RepairReport{}
	for _, path := range names {
		rf, done, err := a.repairFile(ctx, path)
		if err != nil {
			return rep, err
		}
		if done {
			rep.Files = append(rep.Files, rf)
		}
	}
	return rep, nil
}

func (a *Archive) repairFile(ctx context.Context, path string) (RepairedFile, bool, error) {
	name := strings.TrimSuffix(filepath.Base(path), openSuffix)
	if a.opts.Node != "" {
		name = a.opts.Node + "/" + name
	}
	rf := RepairedFile{Name: name}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return rf, false, fmt.Errorf("evidence: repair %s: %w", name, err)
	}
	defer f.Close()
	unlock, ok, err := lockFile(f)
	if err != nil {
		return rf, false, fmt.Errorf("evidence: repair %s: lock: %w", name, err)
	}
	if !ok {
		return rf, false, nil // a live process is writing it
	}
	defer unlock()
	info, err := f.Stat()
	if err != nil {
		return rf, false, fmt.Errorf("evidence: repair %s: %w", name, err)
	}
	end, members, err := completeRecords(f, 0)
	if err != nil {
		return rf, false, fmt.Errorf("evidence: repair %s: %w", name, err)
	}
	rf.Kept, rf.Cut = end, info.Size()-end
	if _, err := a.idx.DeleteBeyond(ctx, name, end); err != nil {
		return rf, false, fmt.Errorf("evidence: repair %s: index: %w", name, err)
	}
	if members == 0 {
		rf.Removed = true
		if err := os.Remove(path); err != nil {
			return rf, false, fmt.Errorf("evidence: repair %s: %w", name, err)
		}
		return rf, true, syncDir(a.writeDir())
	}
	if rf.Cut > 0 {
		if err := f.Truncate(end); err != nil {
			return rf, false, fmt.Errorf("evidence: repair %s: cut to %d: %w", name, end, err)
		}
	}
	if err := f.Sync(); err != nil {
		return rf, false, fmt.Errorf("evidence: repair %s: %w", name, err)
	}
	if err := os.Rename(path, a.diskPath(name)); err != nil {
		return rf, false, fmt.Errorf("evidence: repair %s: %w", name, err)
	}
	return rf, true, syncDir(a.writeDir())
}

// countingReader counts the bytes the gzip reader consumed. It is a
// flate.Reader (it has ReadByte), so gzip reads through it without a
// buffer of its own and the count ends exactly at a member's end.
type countingReader struct {
	r   *bufio.Reader
	n   int64
	err error // a read error other than the end of the file
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	c.note(err)
	return n, err
}

func (c *countingReader) ReadByte() (byte, error) {
	b, err := c.r.ReadByte()
	if err == nil {
		c.n++
	}
	c.note(err)
	return b, err
}

func (c *countingReader) note(err error) {
	if err != nil && !errors.Is(err, io.EOF) && c.err == nil {
		c.err = err
	}
}

// completeRecords reads r as a series of gzip members, one WARC record
// each, and returns the end of the last complete one (its trailer and
// checksum read and right) and how many there are. It stops at the first
// member that is cut short or damaged, or after limit members (0: no limit).
func completeRecords(r io.Reader, limit int) (end int64, members int, err error) {
	cr := &countingReader{r: bufio.NewReaderSize(r, 256<<10)}
	var zr gzip.Reader
	head := make([]byte, 5)
	for {
		if _, err := cr.r.Peek(1); err == io.EOF {
			return end, members, nil
		} else if err != nil {
			return end, members, err
		}
		if err := zr.Reset(cr); err != nil {
			if cr.err != nil {
				return end, members, cr.err
			}
			return end, members, nil
		}
		zr.Multistream(false)
		if _, err := io.ReadFull(&zr, head); err != nil || string(head) != "WARC/" {
			return end, members, nil
		}
		if _, err := io.Copy(io.Discard, &zr); err != nil {
			if cr.err != nil {
				return end, members, cr.err // the disk failed: cut nothing
			}
			return end, members, nil // cut short or damaged
		}
		end = cr.n
		members++
		if members == limit {
			return end, members, nil
		}
	}
}
