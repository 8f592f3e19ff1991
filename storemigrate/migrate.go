package storemigrate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"riskmine/alerts"
	alertspg "riskmine/alerts/pgstore"
	"riskmine/crawler/pgstate"
	"riskmine/evidence/pgindex"
	"riskmine/index"
	"riskmine/index/pgsearch"
	"riskmine/internal/pgdb"
	"riskmine/internal/sqlitedb"
	"riskmine/nlp"
	"riskmine/service"
	webpg "riskmine/web/pgstore"
)

// Options configures Run.
type Options struct {
	// DataDir is the embedded installation's data folder.
	DataDir string
	// DSN is the PostgreSQL address; its search_path selects the schema.
	DSN string
	// Force empties riskmine's tables in the target before the copy
	// (TRUNCATE … RESTART IDENTITY, inside the copy's transaction), so
	// that a target already holding data ends up holding exactly the
	// embedded installation's. Without it such a target is refused.
	Force bool
	// Alerts are the lead store's options (the simhash bands above all),
	// as serve opens the store with them.
	Alerts alerts.Options
	// Location is the installation's time zone (config time_zone): the
	// search table's per-day counts are kept in it, as serve keeps them.
	Location *time.Location
	// OnTable, when set, is told of each table once it is done.
	OnTable func(TableResult)
	// OnPosts, when set, is told how many posts of total are copied, every
	// PostBatch posts and at the end.
	OnPosts func(done, total uint64)
	// PostBatch is the number of posts written at once (default 1000).
	PostBatch int
}

// TableResult says what became of one table.
type TableResult struct {
	Name string
	// Rows is the number of rows copied, or, for a table not copied, the
	// number it holds in riskmine.db.
	Rows   int64
	Copied bool
	// Why says why a table was not copied.
	Why     string
	Elapsed time.Duration
}

// Result sums up a migration.
type Result struct {
	Tables  []TableResult
	Posts   uint64
	Elapsed time.Duration
	// Forced is true when the target held data that Force removed.
	Forced bool
}

// Rows returns the number of rows copied, posts excluded.
func (r *Result) Rows() int64 {
	var n int64
	for _, t := range r.Tables {
		if t.Copied && t.Name != "search_posts" {
			n += t.Rows
		}
	}
	return n
}

// ErrTargetNotEmpty is wrapped by Run when the target schema already holds
// riskmine data and Options.Force is not set.
var ErrTargetNotEmpty = errors.New("the target schema already holds riskmine data")

// ErrInUse is wrapped by Run when a riskmine process (serve, crawl, …)
// holds the data folder.
var ErrInUse = errors.New("the data folder is in use")

// dbFile and indexDir are the embedded stores in the data folder.
const (
	dbFile   = "riskmine.db"
	indexDir = "index"
)

// Run copies the embedded installation of o.DataDir into the PostgreSQL
// schema of o.DSN (see the package comment).
func Run(ctx context.Context, o Options) (*Result, error) {
	start := time.Now()
	if o.PostBatch <= 0 {
		o.PostBatch = 1000
	}
	dbPath := filepath.Join(o.DataDir, dbFile)
	ixPath := filepath.Join(o.DataDir, indexDir)
	hasDB := isFile(dbPath)
	if !hasDB && !index.Exists(ixPath) {
		return nil, fmt.Errorf("storemigrate: neither %s nor an index in the data folder %s: nothing to move", dbFile, o.DataDir)
	}
	if err := index.InstallAnalysis(service.IndexTokenize, nlp.NormalizeText); err != nil {
		return nil, fmt.Errorf("storemigrate: %w", err)
	}

	// The index first: a serve (or crawl) running on the data folder
	// holds it, and is refused here before anything else is opened.
	var posts *index.Stored
	if index.Exists(ixPath) {
		st, err := index.OpenStored(ixPath)
		if errors.Is(err, index.ErrLocked) {
			return nil, fmt.Errorf("storemigrate: %w: riskmine serve (or crawl) holds the index of %s; stop it, then migrate", ErrInUse, o.DataDir)
		}
		if err != nil {
			return nil, fmt.Errorf("storemigrate: %w", err)
		}
		defer st.Close()
		posts = st
	}

	src := &source{tables: map[string][]string{}} // a folder of posts only
	if hasDB {
		var err error
		if src, err = openSource(ctx, dbPath); err != nil {
			return nil, err
		}
		defer src.close()
	}

	pool, err := pgdb.Open(ctx, o.DSN, pgdb.Options{MaxConns: 4})
	if err != nil {
		return nil, fmt.Errorf("storemigrate: %w", err)
	}
	defer pool.Close()

	full, err := filledTables(ctx, pool)
	if err != nil {
		return nil, err
	}
	if len(full) > 0 && !o.Force {
		return nil, fmt.Errorf("storemigrate: %w (rows in %s); migrate into an empty schema, or pass --force to delete the rows of riskmine's tables there first", ErrTargetNotEmpty, strings.Join(full, ", "))
	}
	if err := createSchema(ctx, pool, o.Alerts, o.Location); err != nil {
		return nil, err
	}
	dst, err := pgTables(ctx, pool)
	if err != nil {
		return nil, err
	}
	for _, name := range slices.Sorted(maps.Keys(dst)) {
		if _, ok := Lookup(name); !ok {
			return nil, fmt.Errorf("storemigrate: PostgreSQL table %s has no entry in storemigrate.Tables: this riskmine does not know what to do with it", name)
		}
	}

	res := &Result{Forced: len(full) > 0}
	tx, err := pool.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("storemigrate: %w", err)
	}
	defer tx.Rollback(context.Background()) // a no-op after Commit
	// A node running on the target would hold locks the copy needs: fail
	// rather than wait for it.
	if _, err := tx.Exec(ctx, `SET LOCAL lock_timeout = '10s'`); err != nil {
		return nil, fmt.Errorf("storemigrate: %w", err)
	}
	if err := emptyTarget(ctx, tx, dst, o.Force); err != nil {
		return nil, err
	}
	for _, t := range Tables {
		if t.How != Copy {
			continue
		}
		tr, err := copyTable(ctx, src, tx, t, dst[t.Name])
		if err != nil {
			return nil, err
		}
		res.Tables = append(res.Tables, tr)
		if o.OnTable != nil {
			o.OnTable(tr)
		}
	}
	for _, name := range src.names {
		if t, _ := Lookup(name); t.How == Skip && !t.Internal {
			n, err := src.count(ctx, name)
			if err != nil {
				return nil, err
			}
			tr := TableResult{Name: name, Rows: n, Why: t.Why}
			res.Tables = append(res.Tables, tr)
			if o.OnTable != nil {
				o.OnTable(tr)
			}
		}
	}
	if posts != nil {
		t0 := time.Now()
		var timeless uint64
		if res.Posts, err = copyPosts(ctx, posts, tx, o, &timeless); err != nil {
			return nil, err
		}
		trs := []TableResult{{Name: "search_posts", Rows: int64(res.Posts), Copied: true, Elapsed: time.Since(t0)}}
		if timeless > 0 {
			trs = append(trs, TableResult{Name: "search_posts", Rows: int64(timeless),
				Why: "posts of the index with neither a published nor a fetched time (PostgreSQL keeps posts by month)"})
		}
		for _, tr := range trs {
			res.Tables = append(res.Tables, tr)
			if o.OnTable != nil {
				o.OnTable(tr)
			}
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("storemigrate: commit: %w", err)
	}
	// Fresh statistics, so the first queries on the copy are planned on
	// its real sizes rather than on empty tables.
	for _, tr := range res.Tables {
		if tr.Copied && tr.Rows > 0 {
			if _, err := pool.Exec(ctx, `ANALYZE `+pgx.Identifier{tr.Name}.Sanitize()); err != nil {
				return nil, fmt.Errorf("storemigrate: analyze %s: %w", tr.Name, err)
			}
		}
	}
	res.Elapsed = time.Since(start)
	return res, nil
}

// createSchema brings riskmine's tables in the target up to date through
// each PostgreSQL store's own constructor.
func createSchema(ctx context.Context, pool *pgxpool.Pool, ao alerts.Options, loc *time.Location) error {
	leads, err := alertspg.New(ctx, pool, ao)
	if err != nil {
		return fmt.Errorf("storemigrate: %w", err)
	}
	if err := leads.Close(); err != nil {
		return fmt.Errorf("storemigrate: %w", err)
	}
	crawl, err := pgstate.New(ctx, pool)
	if err != nil {
		return fmt.Errorf("storemigrate: %w", err)
	}
	if err := crawl.Close(); err != nil {
		return fmt.Errorf("storemigrate: %w", err)
	}
	web, err := webpg.New(ctx, pool)
	if err != nil {
		return fmt.Errorf("storemigrate: %w", err)
	}
	if err := web.Close(); err != nil {
		return fmt.Errorf("storemigrate: %w", err)
	}
	if _, err := pgsearch.Open(ctx, pool, pgsearch.Options{Tokenize: service.IndexTokenize, Normalize: nlp.NormalizeText, Location: loc}); err != nil {
		return fmt.Errorf("storemigrate: %w", err)
	}
	if err := service.MigrateClusterTables(ctx, pool); err != nil {
		return fmt.Errorf("storemigrate: %w", err)
	}
	ev, err := pgindex.New(ctx, pool)
	if err != nil {
		return fmt.Errorf("storemigrate: %w", err)
	}
	if err := ev.Close(); err != nil {
		return fmt.Errorf("storemigrate: %w", err)
	}
	return nil
}

// pgTables returns the tables of the target schema (month partitions
// left out) with their columns.
func pgTables(ctx context.Context, pool *pgxpool.Pool) (map[string][]pgColumn, error) {
	rows, err := pool.Query(ctx, `SELECT c.table_name, c.column_name, c.data_type, c.is_nullable = 'YES',
			coalesce(c.column_default, ''), c.is_identity = 'YES'
		FROM information_schema.columns c
		JOIN pg_class k ON k.relname = c.table_name AND k.relnamespace = current_schema()::regnamespace
		WHERE c.table_schema = current_schema() AND k.relkind IN ('r', 'p') AND NOT k.relispartition
		ORDER BY c.table_name, c.ordinal_position`)
	if err != nil {
		return nil, fmt.Errorf("storemigrate: list PostgreSQL tables: %w", err)
	}
	out := map[string][]pgColumn{}
	var table string
	var c pgColumn
	_, err = pgx.ForEachRow(rows, []any{&table, &c.Name, &c.Type, &c.Nullable, &c.Default, &c.Identity}, func() error {
		out[table] = append(out[table], c)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("storemigrate: list PostgreSQL tables: %w", err)
	}
	return out, nil
}

// filledTables names the tables of the target that hold rows the copy
// would collide with.
func filledTables(ctx context.Context, pool *pgxpool.Pool) ([]string, error) {
	var full []string
	for _, t := range Tables {
		if t.How == Skip || t.Replace {
			continue
		}
		var exists bool
		if err := pool.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, t.Name).Scan(&exists); err != nil {
			return nil, fmt.Errorf("storemigrate: look at the target: %w", err)
		}
		if !exists {
			continue
		}
		var has bool
		if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+pgx.Identifier{t.Name}.Sanitize()+`)`).Scan(&has); err != nil {
			return nil, fmt.Errorf("storemigrate: look at the target's %s: %w", t.Name, err)
		}
		if has {
			full = append(full, t.Name)
		}
	}
	return full, nil
}

// emptyTarget deletes, in tx, the rows of the tables Replace names and,
// with force, of every table the copy fills.
func emptyTarget(ctx context.Context, tx pgx.Tx, dst map[string][]pgColumn, force bool) error {
	var all []string
	for _, t := range Tables {
		if _, ok := dst[t.Name]; !ok || t.How == Skip {
			continue
		}
		if t.Replace {
			if _, err := tx.Exec(ctx, `DELETE FROM `+pgx.Identifier{t.Name}.Sanitize()); err != nil {
				return fmt.Errorf("storemigrate: empty %s: %w", t.Name, err)
			}
			continue
		}
		if force {
			all = append(all, pgx.Identifier{t.Name}.Sanitize())
		}
	}
	if len(all) == 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, `TRUNCATE `+strings.Join(all, ", ")+` RESTART IDENTITY CASCADE`); err != nil {
		return fmt.Errorf("storemigrate: --force: empty the target's tables: %w", err)
	}
	return nil
}

// copyRowsAtOnce is how many rows go in one COPY: an error names its row
// among them.
const copyRowsAtOnce = 5000

// copyTable copies the rows of t from src to tx.
func copyTable(ctx context.Context, src *source, tx pgx.Tx, t Table, dst []pgColumn) (TableResult, error) {
	t0 := time.Now()
	res := TableResult{Name: t.Name}
	srcCols, ok := src.tables[t.Name]
	if !ok {
		res.Copied, res.Why = true, "not in riskmine.db (none yet)"
		return res, nil
	}
	if dst == nil {
		n, err := src.count(ctx, t.Name)
		if err != nil {
			return res, err
		}
		res.Rows = n
		res.Why = "this riskmine has no PostgreSQL table for it yet; its rows stay in riskmine.db"
		return res, nil
	}
	p, err := planTable(t, srcCols, dst)
	if err != nil {
		return res, fmt.Errorf("storemigrate: %w", err)
	}
	quoted := make([]string, len(p.src))
	for i, c := range p.src {
		quoted[i] = `"` + c + `"`
	}
	distinct := ""
	if t.Distinct {
		distinct = "DISTINCT "
	}
	rows, err := src.tx.QueryContext(ctx, `SELECT `+distinct+strings.Join(quoted, ", ")+` FROM "`+t.Name+`"`)
	if err != nil {
		return res, fmt.Errorf("storemigrate: read %s: %w", t.Name, err)
	}
	defer rows.Close()
	batch := make([][]any, 0, copyRowsAtOnce)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		n, err := tx.CopyFrom(ctx, pgx.Identifier{t.Name}, p.cols, pgx.CopyFromRows(batch))
		if err != nil {
			return fmt.Errorf("storemigrate: %s: %s: %w", t.Name, failedRow(err, p.cols, batch, res.Rows), err)
		}
		res.Rows += n
		batch = batch[:0]
		return nil
	}
	raw := make([]any, len(p.cols))
	ptrs := make([]any, len(p.cols))
	for i := range raw {
		ptrs[i] = &raw[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return res, fmt.Errorf("storemigrate: read %s row %d: %w", t.Name, res.Rows+int64(len(batch))+1, err)
		}
		if t.Fix != nil {
			m := make(map[string]any, len(raw))
			for i, c := range p.src {
				m[c] = raw[i]
			}
			if err := t.Fix(m); err != nil {
				return res, fmt.Errorf("storemigrate: %s: row %s: %w", t.Name, rowName(p.src, raw, res.Rows+int64(len(batch))+1), err)
			}
			for i, c := range p.src {
				raw[i] = m[c]
			}
		}
		vals := make([]any, len(raw))
		for i, v := range raw {
			cv, err := p.conv[i](v)
			if err != nil {
				return res, fmt.Errorf("storemigrate: %s: row %s: %w", t.Name, rowName(p.src, raw, res.Rows+int64(len(batch))+1), err)
			}
			vals[i] = cv
		}
		batch = append(batch, vals)
		if len(batch) == copyRowsAtOnce {
			if err := flush(); err != nil {
				return res, err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return res, fmt.Errorf("storemigrate: read %s: %w", t.Name, err)
	}
	if err := flush(); err != nil {
		return res, err
	}
	if p.ident != "" {
		// New rows continue after the copied ids.
		q := fmt.Sprintf(`SELECT setval(pg_get_serial_sequence($1, $2), coalesce((SELECT max(%s) FROM %s), 0) + 1, false)`,
			pgx.Identifier{p.ident}.Sanitize(), pgx.Identifier{t.Name}.Sanitize())
		if _, err := tx.Exec(ctx, q, t.Name, p.ident); err != nil {
			return res, fmt.Errorf("storemigrate: %s: set the sequence of %s: %w", t.Name, p.ident, err)
		}
	}
	res.Copied, res.Elapsed = true, time.Since(t0)
	return res, nil
}

// copyLine finds the line of a COPY in PostgreSQL's error context.
var copyLine = regexp.MustCompile(`COPY [^,]+, line (\d+)`)

// failedRow names the row of batch (the rows after done) that err is
// about, when PostgreSQL says.
func failedRow(err error, cols []string, batch [][]any, done int64) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		if m := copyLine.FindStringSubmatch(pe.Where); m != nil {
			if n, _ := strconv.Atoi(m[1]); n >= 1 && n <= len(batch) {
				return "row " + rowName(cols, batch[n-1], done+int64(n))
			}
		}
	}
	return fmt.Sprintf("rows %d to %d", done+1, done+int64(len(batch)))
}

// rowName is a row's number and first column, as errors show it.
func rowName(cols []string, vals []any, n int64) string {
	s := fmt.Sprint(vals[0])
	if b, ok := vals[0].([]byte); ok {
		s = string(b)
	}
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return fmt.Sprintf("%d (%s=%s)", n, cols[0], s)
}

// copyPosts writes every post of st into the posts table in tx.
// Posts without a published or fetched time are counted in timeless and
// left out.
func copyPosts(ctx context.Context, st *index.Stored, tx pgx.Tx, o Options, timeless *uint64) (uint64, error) {
	total, err := st.Count()
	if err != nil {
		return 0, fmt.Errorf("storemigrate: %w", err)
	}
	var done uint64
	batch := make([]index.Doc, 0, o.PostBatch)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := pgsearch.CopyIn(ctx, tx, batch); err != nil {
			return fmt.Errorf("storemigrate: search_posts: %s: %w", failedPost(err, batch, done), err)
		}
		done += uint64(len(batch))
		batch = batch[:0]
		if o.OnPosts != nil {
			o.OnPosts(done, total)
		}
		return nil
	}
	err = st.EachDoc(ctx, func(d index.Doc) error {
		if d.At().IsZero() {
			// PostgreSQL keeps posts by month; pgsearch refuses one
			// without any time, as serve on PostgreSQL would.
			*timeless++
			return nil
		}
		batch = append(batch, d)
		if len(batch) == o.PostBatch {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		if strings.HasPrefix(err.Error(), "storemigrate:") {
			return 0, err
		}
		return 0, fmt.Errorf("storemigrate: read the index: %w", err)
	}
	return done, nil
}

// failedPost names the post of batch that err is about.
func failedPost(err error, batch []index.Doc, done uint64) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		if m := copyLine.FindStringSubmatch(pe.Where); m != nil {
			if n, _ := strconv.Atoi(m[1]); n >= 1 && n <= len(batch) {
				return fmt.Sprintf("post %d (%s)", done+uint64(n), batch[n-1].Key())
			}
		}
	}
	return fmt.Sprintf("posts %d to %d (from %s)", done+1, done+uint64(len(batch)), batch[0].Key())
}

// source is the SQLite database of the data folder, opened query-only and
// read in one transaction, so the copy sees one moment of it.
type source struct {
	db     *sql.DB
	tx     *sql.Tx
	names  []string
	tables map[string][]string // table → columns
}

func openSource(ctx context.Context, path string) (*source, error) {
	db, err := sqlitedb.Open(path, sqlitedb.Options{Pragmas: []string{"query_only(1)"}, MaxOpenConns: 1})
	if err != nil {
		return nil, fmt.Errorf("storemigrate: open %s: %w", path, err)
	}
	s := &source{db: db, tables: map[string][]string{}}
	if s.tx, err = db.BeginTx(ctx, nil); err != nil {
		db.Close()
		return nil, fmt.Errorf("storemigrate: open %s: %w", path, err)
	}
	rows, err := s.tx.QueryContext(ctx, `SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name`)
	if err != nil {
		s.close()
		return nil, fmt.Errorf("storemigrate: read %s: %w", path, err)
	}
	s.names, err = sqlitedb.Collect(rows, func(r *sql.Rows) (string, error) {
		var n string
		return n, r.Scan(&n)
	})
	if err != nil {
		s.close()
		return nil, fmt.Errorf("storemigrate: read %s: %w", path, err)
	}
	for _, name := range s.names {
		if _, ok := Lookup(name); !ok {
			s.close()
			return nil, fmt.Errorf("storemigrate: table %s of %s has no entry in storemigrate.Tables: this riskmine does not know how to move it", name, path)
		}
		rows, err := s.tx.QueryContext(ctx, `SELECT name FROM pragma_table_info(?) ORDER BY cid`, name)
		if err != nil {
			s.close()
			return nil, fmt.Errorf("storemigrate: read %s: %w", path, err)
		}
		cols, err := sqlitedb.Collect(rows, func(r *sql.Rows) (string, error) {
			var n string
			return n, r.Scan(&n)
		})
		if err != nil {
			s.close()
			return nil, fmt.Errorf("storemigrate: read %s: %w", path, err)
		}
		s.tables[name] = cols
	}
	return s, nil
}

func (s *source) count(ctx context.Context, table string) (int64, error) {
	var n int64
	if err := s.tx.QueryRowContext(ctx, `SELECT count(*) FROM "`+table+`"`).Scan(&n); err != nil {
		return 0, fmt.Errorf("storemigrate: count %s: %w", table, err)
	}
	return n, nil
}

// isFile reports whether path is a file.
func isFile(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir()
}

func (s *source) close() {
	if s.tx != nil {
		s.tx.Rollback()
	}
	s.db.Close()
}
