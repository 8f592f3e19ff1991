package index

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// The journal is the index's write-ahead log. Every added or deleted
// document is appended to it as it is queued; Sync makes the journal
// durable (one fsync for everything queued so far), which is what the
// pipeline acknowledges a page on. Bleve then gets large batches in the
// background — a batch of a few documents per acknowledgement would make
// a segment each, and merging thousands of tiny segments is most of what
// indexing cost. The journal is cut into a new file at every batch; a file
// is removed once the batches holding its documents are persisted, and the
// files left after a crash are replayed into the index when it is opened.
//
// A file is a sequence of records: a 4-byte little-endian length of the
// payload, a 4-byte CRC-32C of the kind byte and the payload, the kind
// byte (journalAdd: the document as JSON; journalDelete: its key), then
// the payload. A record cut short by a crash ends the file's replay.

const (
	journalDir    = "journal"
	journalSuffix = ".log"

	journalAdd    byte = 'a'
	journalDelete byte = 'd'

	// journalMaxRecord bounds a record read back (a post's text is capped
	// far below it by the crawler).
	journalMaxRecord = 64 << 20
)

var journalCRC = crc32.MakeTable(crc32.Castagnoli)

// journal is the open file being appended to; Index.mu guards it.
type journal struct {
	dir string
	seq uint64 // number of the current file
	f   *os.File
	w   *bufio.Writer
	err error // the first write error since the last sync
}

// journalFiles lists the journal files in dir in order.
func journalFiles(dir string) ([]string, uint64, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("index: journal %s: %w", dir, err)
	}
	var files []string
	var last uint64
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, journalSuffix) {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSuffix(name, journalSuffix), 10, 64)
		if err != nil {
			continue
		}
		last = max(last, n)
		files = append(files, filepath.Join(dir, name))
	}
	slices.Sort(files) // names are zero-padded: lexical order is numeric order
	return files, last, nil
}

// openJournal starts a new journal file in dir numbered after the last
// existing one.
func openJournal(dir string, last uint64) (*journal, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("index: journal %s: %w", dir, err)
	}
	j := &journal{dir: dir, seq: last}
	if err := j.next(); err != nil {
		return nil, err
	}
	return j, nil
}

func (j *journal) name(seq uint64) string {
	return filepath.Join(j.dir, fmt.Sprintf("%016d%s", seq, journalSuffix))
}

// next opens the following file.
func (j *journal) next() error {
	f, err := os.OpenFile(j.name(j.seq+1), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("index: journal %s: %w", j.dir, err)
	}
	j.seq++
	j.f = f
	j.w = bufio.NewWriterSize(f, 256<<10)
	return nil
}

// append queues one record; a write error is kept for sync to report.
func (j *journal) append(kind byte, payload []byte) {
	if j.err != nil {
		return
	}
	var h [9]byte
	binary.LittleEndian.PutUint32(h[0:4], uint32(len(payload)))
	crc := crc32.Update(crc32.Checksum([]byte{kind}, journalCRC), journalCRC, payload)
	binary.LittleEndian.PutUint32(h[4:8], crc)
	h[8] = kind
	if _, err := j.w.Write(h[:]); err != nil {
		j.err = err
		return
	}
	if _, err := j.w.Write(payload); err != nil {
		j.err = err
	}
}

// flush hands the buffered records to the file; the caller fsyncs the
// returned file outside the lock. The error is the first write error
// since the last flush.
func (j *journal) flush() (*os.File, error) {
	if j.err == nil {
		j.err = j.w.Flush()
	}
	err := j.err
	j.err = nil
	if err != nil {
		// What the buffer held may be partly written: start a new
		// file so later records are not read after a torn one.
		j.w.Reset(j.f)
		if rerr := j.rotateLocked(); rerr != nil {
			err = errors.Join(err, rerr)
		}
		return nil, fmt.Errorf("index: journal %s: %w", j.dir, err)
	}
	return j.f, nil
}

// rotate makes the current file durable, closes it and opens the next;
// it returns the closed file's path ("" when it could not rotate, in which
// case the current file stays in use).
func (j *journal) rotate() (string, error) {
	f, err := j.flush()
	if err != nil {
		return "", err
	}
	if err := f.Sync(); err != nil {
		return "", fmt.Errorf("index: journal %s: %w", j.dir, err)
	}
	name := f.Name()
	if err := j.rotateLocked(); err != nil {
		return "", err
	}
	return name, nil
}

// rotateLocked closes the current file and opens the next.
func (j *journal) rotateLocked() error {
	old := j.f
	if err := j.next(); err != nil {
		return err
	}
	old.Close()
	return nil
}

// close makes the current file durable and closes it, returning its path.
func (j *journal) close() (string, error) {
	f, err := j.flush()
	if err != nil {
		j.f.Close()
		return j.f.Name(), err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return f.Name(), fmt.Errorf("index: journal %s: %w", j.dir, err)
	}
	return f.Name(), nil
}

// readJournal calls fn for each record of the file at path, in order. A
// record cut short or failing its checksum ends the file: it returns the
// offset where the good records end and torn set.
func readJournal(path string, fn func(kind byte, payload []byte) error) (good int64, torn bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false, fmt.Errorf("index: journal: %w", err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 256<<10)
	var h [9]byte
	var buf []byte
	for {
		if _, err := io.ReadFull(r, h[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return good, false, nil
			}
			return good, true, nil
		}
		n := binary.LittleEndian.Uint32(h[0:4])
		if n > journalMaxRecord || (h[8] != journalAdd && h[8] != journalDelete) {
			return good, true, nil
		}
		if cap(buf) < int(n) {
			buf = make([]byte, n)
		}
		buf = buf[:n]
		if _, err := io.ReadFull(r, buf); err != nil {
			return good, true, nil
		}
		crc := crc32.Update(crc32.Checksum(h[8:9], journalCRC), journalCRC, buf)
		if crc != binary.LittleEndian.Uint32(h[4:8]) {
			return good, true, nil
		}
		if err := fn(h[8], buf); err != nil {
			return good, false, err
		}
		good += int64(len(h)) + int64(n)
	}
}

// removeFiles deletes journal files whose documents are persisted.
func removeFiles(paths []string) error {
	var errs []error
	for _, p := range paths {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("index: journal: %w", err))
		}
	}
	return errors.Join(errs...)
}
