package web

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"riskmine/config"
	"riskmine/crawler"
)

const uiSourceMigration = `CREATE TABLE web_ui_sources (
	name       TEXT PRIMARY KEY,
	yaml       TEXT NOT NULL,
	paused     INTEGER NOT NULL DEFAULT 0,
	updated_at INTEGER NOT NULL,
	updated_by TEXT NOT NULL
);
CREATE TABLE web_source_audit (
	id     INTEGER PRIMARY KEY AUTOINCREMENT,
	at     INTEGER NOT NULL,
	actor  TEXT NOT NULL,
	action TEXT NOT NULL,
	name   TEXT NOT NULL,
	before TEXT NOT NULL,
	after  TEXT NOT NULL
);`

// MaxSourceYAML is the largest source text accepted from the UI or API.
const MaxSourceYAML = 64 << 10

// UISource is a crawl source added in the UI: its YAML (the shape of one
// crawler.sources entry of the config file) and whether it is paused.
type UISource struct {
	Name      string    `json:"name"`
	YAML      string    `json:"yaml"`
	Paused    bool      `json:"paused"`
	UpdatedAt time.Time `json:"updated_at"`
	UpdatedBy string    `json:"updated_by"`
}

// SourceChange is one audited change to a UI source.
type SourceChange struct {
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"` // create, update, pause, resume, delete
	Name   string    `json:"name"`
	Before string    `json:"before"`
	After  string    `json:"after"`
}

// SourceActions are the audited actions.
var SourceActions = []string{"create", "update", "pause", "resume", "delete"}

// ErrSourceExists is returned when a UI source of that name exists.
var ErrSourceExists = errors.New("web: a source of that name exists")

// ParseUISource validates a source's YAML with the config file's own
// validation (config.ParseSource) and returns it as the crawler uses it.
func ParseUISource(text string) (crawler.Source, error) {
	if len(text) > MaxSourceYAML {
		return crawler.Source{}, &config.Error{Msg: "the source is longer than 64 KiB"}
	}
	cs, err := config.ParseSource([]byte(text))
	if err != nil {
		return crawler.Source{}, err
	}
	return CrawlerSource(*cs), nil
}

// CrawlerSource converts a validated config source into the crawler's
// source; the config file's sources and the UI's go through it alike.
func CrawlerSource(s config.Source) crawler.Source {
	delay := time.Second
	if s.Delay != nil {
		delay = s.Delay.D()
	}
	revisit := 24 * time.Hour
	if s.Revisit != nil {
		revisit = s.Revisit.D()
	}
	var ro crawler.RenderOptions
	if s.Render {
		ro = crawler.RenderOptions{WaitFor: s.RenderOptions.WaitFor, Scroll: s.RenderOptions.Scroll, Media: s.RenderOptions.Media}
		if d := s.RenderOptions.NetworkIdle; d != nil {
			ro.NetworkIdle = d.D()
		}
		if d := s.RenderOptions.IdleTimeout; d != nil {
			ro.IdleTimeout = d.D()
		}
	}
	return crawler.Source{
		Name:           s.Name,
		Kind:           s.Kind,
		Site:           s.Site,
		Seeds:          append([]string(nil), s.Seeds...),
		Schedule:       s.Schedule,
		AllowedDomains: append([]string(nil), s.AllowedDomains...),
		MaxDepth:       s.MaxDepth,
		MaxPages:       s.MaxPages,
		Headers:        s.Headers,
		UserAgent:      s.UserAgent,
		Delay:          delay,
		Parallelism:    s.Parallelism,
		Proxy:          s.Proxy,
		Revisit:        revisit,
		AllowPrivate:   s.AllowPrivate,
		IgnoreRobots:   s.IgnoreRobots,
		Render:         s.Render,
		RenderOptions:  ro,
		List:           crawler.ListSelectors{Items: s.List.Items, Next: s.List.Next, MaxPages: s.List.MaxPages},
		Detail:         crawler.DetailSelectors{Title: s.Detail.Title, Body: s.Detail.Body, Time: s.Detail.Time, Author: s.Detail.Author},
	}
}

func (u UISource) state() string {
	if u.Paused {
		return "paused: true\n" + u.YAML
	}
	return u.YAML
}

// SourceEdit is one change to a UI source, as an administrator asks for
// it: create (with YAML), update (YAML), pause, resume or delete.
type SourceEdit struct {
	Action string
	Actor  string
	Name   string
	YAML   string
}

// Apply is what the edit makes of the stored source cur (nil when there is
// none) at now: the source to store (nil: delete it) and the audit row.
// It refuses a create of an existing name (ErrSourceExists) and any other
// action on a missing one (ErrNotFound). Times are whole seconds.
func (e SourceEdit) Apply(cur *UISource, now time.Time) (*UISource, SourceChange, error) {
	now = now.Truncate(time.Second)
	audit := SourceChange{At: now, Actor: e.Actor, Action: e.Action, Name: e.Name}
	if e.Action == "create" {
		if cur != nil {
			return nil, audit, ErrSourceExists
		}
	} else if cur == nil {
		return nil, audit, ErrNotFound
	} else {
		audit.Before = cur.state()
	}
	var next UISource
	switch e.Action {
	case "create":
		next = UISource{YAML: e.YAML}
	case "update":
		next = *cur
		next.YAML = e.YAML
	case "pause", "resume":
		next = *cur
		next.Paused = e.Action == "pause"
	case "delete":
		return nil, audit, nil
	default:
		return nil, audit, fmt.Errorf("web: source action %q: expected one of %s", e.Action, strings.Join(SourceActions, ", "))
	}
	next.Name, next.UpdatedAt, next.UpdatedBy = e.Name, now, e.Actor
	audit.After = next.state()
	return &next, audit, nil
}

// UISources lists the UI sources by name.
func (s *Store) UISources(ctx context.Context) ([]UISource, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name, yaml, paused, updated_at, updated_by FROM web_ui_sources ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []UISource{}
	for rows.Next() {
		var u UISource
		var at int64
		if err := rows.Scan(&u.Name, &u.YAML, &u.Paused, &at, &u.UpdatedBy); err != nil {
			return nil, err
		}
		u.UpdatedAt = time.Unix(at, 0)
		out = append(out, u)
	}
	return out, rows.Err()
}

// UISource returns one UI source or ErrNotFound.
func (s *Store) UISource(ctx context.Context, name string) (UISource, error) {
	return uiSourceTx(ctx, s.db, name)
}

type querier interface {
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

func uiSourceTx(ctx context.Context, q querier, name string) (UISource, error) {
	var u UISource
	var at int64
	err := q.QueryRowContext(ctx, `SELECT name, yaml, paused, updated_at, updated_by FROM web_ui_sources WHERE name = ?`, name).
		Scan(&u.Name, &u.YAML, &u.Paused, &at, &u.UpdatedBy)
	if errors.Is(err, sql.ErrNoRows) {
		return u, ErrNotFound
	}
	u.UpdatedAt = time.Unix(at, 0)
	return u, err
}

// changeUISource applies one edit in a transaction with its audit row.
func (s *Store) changeUISource(ctx context.Context, e SourceEdit) (UISource, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return UISource{}, err
	}
	defer tx.Rollback()
	var cur *UISource
	switch u, err := uiSourceTx(ctx, tx, e.Name); {
	case err == nil:
		cur = &u
	case !errors.Is(err, ErrNotFound):
		return UISource{}, err
	}
	next, audit, err := e.Apply(cur, s.now())
	if err != nil {
		return UISource{}, err
	}
	if next == nil {
		if _, err := tx.ExecContext(ctx, `DELETE FROM web_ui_sources WHERE name = ?`, e.Name); err != nil {
			return UISource{}, err
		}
		next = &UISource{}
	} else if _, err := tx.ExecContext(ctx, `INSERT INTO web_ui_sources (name, yaml, paused, updated_at, updated_by) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT(name) DO UPDATE SET yaml = excluded.yaml, paused = excluded.paused, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
		next.Name, next.YAML, next.Paused, next.UpdatedAt.Unix(), next.UpdatedBy); err != nil {
		return UISource{}, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO web_source_audit (at, actor, action, name, before, after) VALUES (?, ?, ?, ?, ?, ?)`,
		audit.At.Unix(), audit.Actor, audit.Action, audit.Name, audit.Before, audit.After); err != nil {
		return UISource{}, err
	}
	return *next, tx.Commit()
}

// CreateUISource stores a new UI source (already validated).
func (s *Store) CreateUISource(ctx context.Context, actor, name, yaml string) (UISource, error) {
	return s.changeUISource(ctx, SourceEdit{Action: "create", Actor: actor, Name: name, YAML: yaml})
}

// UpdateUISource replaces the YAML of a UI source, keeping its pause.
func (s *Store) UpdateUISource(ctx context.Context, actor, name, yaml string) (UISource, error) {
	return s.changeUISource(ctx, SourceEdit{Action: "update", Actor: actor, Name: name, YAML: yaml})
}

// PauseUISource pauses (true) or resumes (false) a UI source.
func (s *Store) PauseUISource(ctx context.Context, actor, name string, paused bool) (UISource, error) {
	return s.changeUISource(ctx, PauseEdit(actor, name, paused))
}

// PauseEdit is the edit that pauses (true) or resumes a source.
func PauseEdit(actor, name string, paused bool) SourceEdit {
	e := SourceEdit{Action: "resume", Actor: actor, Name: name}
	if paused {
		e.Action = "pause"
	}
	return e
}

// DeleteUISource removes a UI source.
func (s *Store) DeleteUISource(ctx context.Context, actor, name string) error {
	_, err := s.changeUISource(ctx, SourceEdit{Action: "delete", Actor: actor, Name: name})
	return err
}

// SourceAudit returns the latest changes to UI sources, newest first.
func (s *Store) SourceAudit(ctx context.Context, limit int) ([]SourceChange, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT at, actor, action, name, before, after FROM web_source_audit ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []SourceChange{}
	for rows.Next() {
		var c SourceChange
		var at int64
		if err := rows.Scan(&at, &c.Actor, &c.Action, &c.Name, &c.Before, &c.After); err != nil {
			return nil, err
		}
		c.At = time.Unix(at, 0)
		out = append(out, c)
	}
	return out, rows.Err()
}
