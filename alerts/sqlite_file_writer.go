package alerts

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// ErrClosed is returned by calls on a closed store.
var ErrClosed = errors.New("alerts: store closed")

// maxFileBatch is the most File calls one transaction commits together.
const maxFileBatch = 64

// fileLinger is how long the writer waits for more posts to share a
// commit when the previous commit was shared.
const fileLinger = 500 * time.Microsecond

// fileReq is a File call waiting for the filing writer.
type fileReq struct {
	ctx           context.Context
	c             Candidate
	canon         string
	seen, at, now time.Time
	done          chan fileDone
	// created is the event of the lead this post created, published once
	// the transaction that filed it commits.
	created *LeadEvent
}

type fileDone struct {
	res FileResult
	err error
}

// submitFile hands a request to the filing writer and waits for its commit.
// Once handed over, the request is always answered: the caller learns
// whether its post was committed even if its context ends meanwhile.
func (s *SQLStore) submitFile(r *fileReq) (FileResult, error) {
	r.done = make(chan fileDone, 1)
	select {
	case s.fileQ <- r:
	case <-s.quit:
		return FileResult{}, ErrClosed
	case <-r.ctx.Done():
		return FileResult{}, r.ctx.Err()
	}
	d := <-r.done
	return d.res, d.err
}

// fileWriter is the one goroutine that files posts. It commits the calls
// that queued up while the previous transaction ran together (group
// commit): a commit writes every touched page to the WAL, so sharing it
// between concurrent posts multiplies throughput, while a lone caller still
// gets its own transaction at once.
func (s *SQLStore) fileWriter() {
	defer close(s.writerDone)
	prev := 0
	for {
		var first *fileReq
		select {
		case first = <-s.fileQ:
		case <-s.quit:
			for {
				select {
				case r := <-s.fileQ:
					r.done <- fileDone{err: ErrClosed}
				default:
					return
				}
			}
		}
		batch := []*fileReq{first}
		// When the last batch had company, its callers are about to send
		// their next posts: linger a moment so they share this commit. A
		// lone caller never waits.
		var linger <-chan time.Time
		var timer *time.Timer
		if prev > 1 {
			timer = time.NewTimer(fileLinger)
			linger = timer.C
		}
	fill:
		for len(batch) < maxFileBatch {
			select {
			case r := <-s.fileQ:
				batch = append(batch, r)
				continue
			default:
			}
			if linger == nil || len(batch) >= prev {
				break fill
			}
			select {
			case r := <-s.fileQ:
				batch = append(batch, r)
			case <-linger:
				break fill
			}
		}
		if timer != nil {
			timer.Stop()
		}
		prev = len(batch)
		s.fileBatch(batch)
	}
}

// fileBatch files a batch in one transaction. Should one post fail, the
// transaction is rolled back and each post is filed alone, so the others
// still go in (cheaper than a savepoint per post, as failures are rare).
func (s *SQLStore) fileBatch(batch []*fileReq) {
	ctx := context.Background()
	live := batch[:0:0]
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.done <- fileDone{err: err}
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	results, queued, err := s.fileTogether(ctx, live)
	if err != nil && len(live) > 1 {
		s.opts.Logger.Debug("filing a batch failed; filing its posts one by one", "posts", len(live), "error", err)
		results, queued = make([]fileDone, len(live)), 0
		for i, r := range live {
			one, n, err := s.fileTogether(ctx, []*fileReq{r})
			if err != nil {
				results[i].err = err
				continue
			}
			results[i] = one[0]
			queued += n
		}
	} else if err != nil {
		results = []fileDone{{err: err}}
	}
	s.prepareWanted(ctx)
	if queued > 0 {
		s.notify()
	}
	for i, r := range live {
		if results[i].err != nil && isUnique(results[i].err) {
			// Another process filed the same URL between our check and
			// insert (the unique index is the last word): a duplicate.
			var id string
			if e := s.r.QueryRowContext(ctx, `SELECT lead_id FROM alerts_source WHERE canonical_url = ?`, r.canon).Scan(&id); e == nil {
				results[i] = fileDone{res: FileResult{LeadID: id, Outcome: OutcomeDuplicate}}
			} else if !errors.Is(e, sql.ErrNoRows) {
				results[i].err = errors.Join(results[i].err, e)
			}
		}
		r.done <- results[i]
	}
}

// fileTogether files posts in one transaction: all or none.
func (s *SQLStore) fileTogether(ctx context.Context, reqs []*fileReq) ([]fileDone, int, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, 0, err
	}
	defer tx.Rollback()
	results := make([]fileDone, len(reqs))
	queued := 0
	for i, r := range reqs {
		r.created = nil // a retry after a rolled back batch starts afresh
		res, n, err := s.fileOne(ctx, tx, r)
		if err != nil {
			return nil, 0, err
		}
		results[i].res = res
		queued += n
	}
	if err := tx.Commit(); err != nil {
		return nil, 0, err
	}
	for _, r := range reqs {
		if r.created != nil {
			s.leadEvents.Publish(*r.created)
		}
	}
	return results, queued, nil
}
