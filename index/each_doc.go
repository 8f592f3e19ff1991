package index

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/blevesearch/bleve/v2"
	bindex "github.com/blevesearch/bleve_index_api"
)

// Stored is an index opened only to read back the posts it stores, as
// moving an installation to another search backend does: its shards are
// opened read-only, so nothing under the folder is written, and a process
// holding the index for writing (riskmine serve) makes OpenStored fail
// with ErrLocked.
type Stored struct {
	path   string
	shards []bleve.Index
}

// OpenStored opens the index at path read-only. It refuses an index whose
// journal holds posts a crash left unwritten (Open replays them; read-only
// it cannot). The posts come back as stored, whatever analysis the index
// was built with; a reader analyses them again as it needs.
func OpenStored(path string) (*Stored, error) {
	if !Exists(path) {
		return nil, fmt.Errorf("index: %s holds no index", path)
	}
	var paths []string
	if isFile(filepath.Join(path, "index_meta.json")) {
		paths = []string{path}
	} else {
		if !isFile(filepath.Join(path, layoutFile)) {
			return nil, fmt.Errorf("index: %s holds no %s", path, layoutFile)
		}
		n, err := readLayout(path, 0)
		if err != nil {
			return nil, err
		}
		for i := range n {
			paths = append(paths, filepath.Join(path, fmt.Sprintf("shard-%d", i)))
		}
	}
	s := &Stored{path: path}
	for _, p := range paths {
		cfg := scorchConfig()
		cfg["read_only"] = true
		bi, err := bleve.OpenUsing(p, cfg)
		if err != nil {
			s.Close()
			if strings.Contains(err.Error(), "timeout") {
				return nil, fmt.Errorf("index: open %s: %w (is riskmine serve, or another riskmine command, using this data folder?)", p, ErrLocked)
			}
			return nil, fmt.Errorf("index: open %s: %w", p, err)
		}
		s.shards = append(s.shards, bi)
	}
	// After the shards, so a serve holding the index (whose journal is
	// open) is named as such.
	files, _, err := journalFiles(filepath.Join(path, journalDir))
	if err != nil {
		s.Close()
		return nil, err
	}
	if len(files) > 0 {
		s.Close()
		return nil, fmt.Errorf("index: %s has a journal of posts that a crash left unwritten (%s); open the data folder once with riskmine (for example riskmine search x), which replays it, then retry", path, filepath.Base(files[0]))
	}
	return s, nil
}

// Count returns the number of posts stored.
func (s *Stored) Count() (uint64, error) {
	var n uint64
	for _, bi := range s.shards {
		c, err := bi.DocCount()
		if err != nil {
			return 0, fmt.Errorf("index: count %s: %w", s.path, err)
		}
		n += c
	}
	return n, nil
}

// EachDoc calls fn with every stored post, shard by shard, from one
// snapshot of each shard. The Doc has every field Add was given, except
// that LocationCodes holds the codes with their parents (as indexed) and
// TitleWords and BodyWords are nil. An error of fn stops the walk and is
// returned as it is.
func (s *Stored) EachDoc(ctx context.Context, fn func(Doc) error) error {
	for i, bi := range s.shards {
		if err := eachShardDoc(ctx, bi, fn); err != nil {
			var fe fnError
			if errors.As(err, &fe) {
				return fe.err
			}
			return fmt.Errorf("index: read shard %d of %s: %w", i, s.path, err)
		}
	}
	return nil
}

// fnError carries an error of EachDoc's fn out unchanged.
type fnError struct{ err error }

func (e fnError) Error() string { return e.err.Error() }

func eachShardDoc(ctx context.Context, bi bleve.Index, fn func(Doc) error) (err error) {
	adv, err := bi.Advanced()
	if err != nil {
		return err
	}
	r, err := adv.Reader()
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, r.Close()) }()
	ids, err := r.DocIDReaderAll()
	if err != nil {
		return err
	}
	defer ids.Close()
	dv, err := r.DocValueReader([]string{fieldLocCodes})
	if err != nil {
		return err
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		id, err := ids.Next()
		if err != nil {
			return err
		}
		if id == nil {
			return nil
		}
		ext, err := r.ExternalID(id)
		if err != nil {
			return err
		}
		doc, err := r.Document(ext)
		if err != nil {
			return fmt.Errorf("post %s: %w", ext, err)
		}
		if doc == nil {
			continue // deleted since the snapshot's id list
		}
		d := storedDoc(doc)
		err = dv.VisitDocValues(id, func(field string, term []byte) {
			if field == fieldLocCodes {
				d.LocationCodes = append(d.LocationCodes, string(term))
			}
		})
		if err != nil {
			return fmt.Errorf("post %s: location codes: %w", ext, err)
		}
		if err := fn(d); err != nil {
			return fnError{err}
		}
	}
}

// storedDoc rebuilds a Doc from the stored fields of doc (see toBleve).
func storedDoc(doc bindex.Document) Doc {
	var d Doc
	doc.VisitFields(func(f bindex.Field) {
		text := func() string { return string(f.Value()) }
		switch f.Name() {
		case fieldDocID:
			d.ID = text()
		case fieldURL:
			d.URL = text()
		case fieldCanonical:
			d.CanonicalURL = text()
		case fieldSource:
			d.Source = text()
		case fieldSite:
			d.Site = text()
		case fieldTitle:
			d.Title = text()
		case fieldBody:
			d.Body = text()
		case fieldLevel:
			d.Level = text()
		case fieldLeadID:
			d.LeadID = text()
		case fieldCategories:
			d.Categories = append(d.Categories, text())
		case fieldLocNames:
			d.LocationNames = append(d.LocationNames, text())
		case fieldScore:
			if n, ok := f.(bindex.NumericField); ok {
				if v, err := n.Number(); err == nil {
					d.Score = v
				}
			}
		case fieldPublished, fieldFetched:
			if t, ok := f.(bindex.DateTimeField); ok {
				if v, _, err := t.DateTime(); err == nil {
					if f.Name() == fieldPublished {
						d.PublishedAt = v.UTC()
					} else {
						d.FetchedAt = v.UTC()
					}
				}
			}
		}
	})
	return d
}

// Close closes the shards.
func (s *Stored) Close() error {
	var err error
	for _, bi := range s.shards {
		err = errors.Join(err, bi.Close())
	}
	s.shards = nil
	return err
}
