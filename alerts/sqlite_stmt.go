package alerts

import (
	"context"
	"database/sql"
	"sync"
)

// stmtCache keeps statements prepared on the writer connection: parsing
// SQL costs about as much as running it, and filing runs a dozen
// statements per post. Statements cannot be prepared inside a transaction
// on the one writer connection, so a query first seen in a transaction is
// run unprepared and prepared after the commit.
type stmtCache struct {
	mu     sync.Mutex
	m      map[string]*sql.Stmt
	wanted map[string]bool
}

// maxCachedStmts bounds the cache; queries are fixed strings, so it only
// guards against a future dynamic query.
const maxCachedStmts = 128

func (s *SQLStore) cached(q string) *sql.Stmt {
	s.stmts.mu.Lock()
	defer s.stmts.mu.Unlock()
	st := s.stmts.m[q]
	if st == nil && len(s.stmts.m)+len(s.stmts.wanted) < maxCachedStmts {
		if s.stmts.wanted == nil {
			s.stmts.wanted = map[string]bool{}
		}
		s.stmts.wanted[q] = true
	}
	return st
}

// prepareWanted prepares the queries seen unprepared; call it outside any
// transaction.
func (s *SQLStore) prepareWanted(ctx context.Context) {
	s.stmts.mu.Lock()
	var qs []string
	for q := range s.stmts.wanted {
		qs = append(qs, q)
	}
	s.stmts.wanted = nil
	s.stmts.mu.Unlock()
	for _, q := range qs {
		st, err := s.w.PrepareContext(ctx, q)
		if err != nil {
			continue // it runs unprepared; the error shows there
		}
		s.stmts.mu.Lock()
		if s.stmts.m == nil {
			s.stmts.m = map[string]*sql.Stmt{}
		}
		if old := s.stmts.m[q]; old != nil {
			old.Close()
		}
		s.stmts.m[q] = st
		s.stmts.mu.Unlock()
	}
}

func (s *SQLStore) closeStmts() {
	s.stmts.mu.Lock()
	defer s.stmts.mu.Unlock()
	for _, st := range s.stmts.m {
		st.Close()
	}
	s.stmts.m = nil
}

func (s *SQLStore) exec(ctx context.Context, tx *sql.Tx, q string, args ...any) (sql.Result, error) {
	if st := s.cached(q); st != nil {
		return tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return tx.ExecContext(ctx, q, args...)
}

func (s *SQLStore) query(ctx context.Context, tx *sql.Tx, q string, args ...any) (*sql.Rows, error) {
	if st := s.cached(q); st != nil {
		return tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return tx.QueryContext(ctx, q, args...)
}

func (s *SQLStore) queryRow(ctx context.Context, tx *sql.Tx, q string, args ...any) *sql.Row {
	if st := s.cached(q); st != nil {
		return tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return tx.QueryRowContext(ctx, q, args...)
}
