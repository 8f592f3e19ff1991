package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"riskmine/index"
	"riskmine/level"
)

// SavedSearch is a named search of one user; Params are the search page's
// query parameters, URL-encoded.
type SavedSearch struct {
	ID        int64     `json:"id"`
	User      string    `json:"user"`
	Name      string    `json:"name"`
	Params    string    `json:"params"`
	CreatedAt time.Time `json:"created_at"`
}

// URL is the search page showing the saved search.
func (s SavedSearch) URL() string { return "/search?" + s.Params }

// AlertRule is a saved search that pipeline.AlertRules runs periodically:
// every Interval it searches for posts published since the last run at
// MinLevel or above and files each hit as a lead candidate, which notifies
// the webhooks like any other lead.
type AlertRule struct {
	ID            int64         `json:"id"`
	SavedSearchID int64         `json:"saved_search_id"`
	Name          string        `json:"name"`
	Params        string        `json:"params"`
	MinLevel      string        `json:"min_level"`
	Interval      time.Duration `json:"interval_ns"`
	Enabled       bool          `json:"enabled"`
	CreatedBy     string        `json:"created_by"`
	CreatedAt     time.Time     `json:"created_at"`
	LastRunAt     time.Time     `json:"last_run_at,omitzero"`
	// LastError says why the last run was refused ("" when it ran).
	LastError string `json:"last_error,omitempty"`
}

// Query returns the rule's index query (the saved parameters, with the
// rule's level as the minimum when the search had none or a lower one);
// days typed without a zone are read in loc.
func (a AlertRule) Query(loc *time.Location) (index.Query, error) {
	v, err := url.ParseQuery(a.Params)
	if err != nil {
		return index.Query{}, fmt.Errorf("web: alert rule %d: params: %w", a.ID, err)
	}
	q, err := parseSearchQuery(v, loc)
	if err != nil {
		return q, fmt.Errorf("web: alert rule %d: %w", a.ID, err)
	}
	if level.Compare(a.MinLevel, q.MinLevel) > 0 {
		q.MinLevel = a.MinLevel
	}
	q.Sort = index.SortTime
	return q, nil
}

// Due reports whether the rule should run at now.
func (a AlertRule) Due(now time.Time) bool {
	return a.Enabled && (a.LastRunAt.IsZero() || !now.Before(a.LastRunAt.Add(a.Interval)))
}

// maxSavedParams bounds a saved search's parameters (the query itself is
// bounded at 4 KB by the index; the rest are filters).
const maxSavedParams = 8 << 10

// SaveSearch stores a named search for user.
func (s *Store) SaveSearch(ctx context.Context, user, name, params string) (*SavedSearch, error) {
	name, err := CheckSavedSearch(name, params)
	if err != nil {
		return nil, err
	}
	now := s.now()
	res, err := s.db.ExecContext(ctx, `INSERT INTO web_saved_searches (user_id, name, query, created_at)
		SELECT id, ?, ?, ? FROM web_users WHERE name = ?`, name, params, now.Unix(), user)
	if err != nil {
		return nil, fmt.Errorf("web: save search: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, fmt.Errorf("web: save search: user %q: %w", user, ErrNotFound)
	}
	id, _ := res.LastInsertId()
	return &SavedSearch{ID: id, User: user, Name: name, Params: params, CreatedAt: time.Unix(now.Unix(), 0)}, nil
}

// SavedSearches lists the searches of user ("" lists everyone's).
func (s *Store) SavedSearches(ctx context.Context, user string) ([]SavedSearch, error) {
	q := `SELECT s.id, u.name, s.name, s.query, s.created_at FROM web_saved_searches s JOIN web_users u ON u.id = s.user_id`
	var args []any
	if user != "" {
		q += ` WHERE u.name = ?`
		args = append(args, user)
	}
	rows, err := s.db.QueryContext(ctx, q+` ORDER BY s.name, s.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("web: list saved searches: %w", err)
	}
	defer rows.Close()
	var out []SavedSearch
	for rows.Next() {
		var ss SavedSearch
		var created int64
		if err := rows.Scan(&ss.ID, &ss.User, &ss.Name, &ss.Params, &created); err != nil {
			return nil, fmt.Errorf("web: list saved searches: %w", err)
		}
		ss.CreatedAt = time.Unix(created, 0)
		out = append(out, ss)
	}
	return out, rows.Err()
}

// SavedSearch loads one saved search, or an error wrapping ErrNotFound.
func (s *Store) SavedSearch(ctx context.Context, id int64) (*SavedSearch, error) {
	var ss SavedSearch
	var created int64
	err := s.db.QueryRowContext(ctx, `SELECT s.id, u.name, s.name, s.query, s.created_at FROM web_saved_searches s
		JOIN web_users u ON u.id = s.user_id WHERE s.id = ?`, id).Scan(&ss.ID, &ss.User, &ss.Name, &ss.Params, &created)
	if err != nil {
		return nil, fmt.Errorf("web: saved search %d: %w", id, ErrNotFound)
	}
	ss.CreatedAt = time.Unix(created, 0)
	return &ss, nil
}

// DeleteSavedSearch removes a saved search of user (admins may pass "" to
// delete anyone's); its alert rules go with it.
func (s *Store) DeleteSavedSearch(ctx context.Context, user string, id int64) error {
	q := `DELETE FROM web_saved_searches WHERE id = ?`
	args := []any{id}
	if user != "" {
		q += ` AND user_id = (SELECT id FROM web_users WHERE name = ?)`
		args = append(args, user)
	}
	res, err := s.db.ExecContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("web: delete saved search %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("web: saved search %d: %w", id, ErrNotFound)
	}
	return nil
}

// CreateAlertRule turns a saved search into an alert rule.
func (s *Store) CreateAlertRule(ctx context.Context, savedID int64, minLevel string, interval time.Duration, by string) (*AlertRule, error) {
	ss, err := s.SavedSearch(ctx, savedID)
	if err != nil {
		return nil, err
	}
	if err := CheckAlertRule(ss.Params, minLevel, interval); err != nil {
		return nil, err
	}
	now := s.now()
	res, err := s.db.ExecContext(ctx, `INSERT INTO web_alert_rules (saved_search_id, name, query, min_level, interval_seconds, created_by, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, ss.ID, ss.Name, ss.Params, minLevel, int64(interval/time.Second), by, now.Unix())
	if err != nil {
		return nil, fmt.Errorf("web: create alert rule: %w", err)
	}
	id, _ := res.LastInsertId()
	return &AlertRule{ID: id, SavedSearchID: ss.ID, Name: ss.Name, Params: ss.Params, MinLevel: minLevel, Interval: interval,
		Enabled: true, CreatedBy: by, CreatedAt: time.Unix(now.Unix(), 0)}, nil
}

// AlertRules lists every alert rule.
func (s *Store) AlertRules(ctx context.Context) ([]AlertRule, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, saved_search_id, name, query, min_level, interval_seconds, enabled, created_by, created_at, last_run_at, last_error
		FROM web_alert_rules ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("web: list alert rules: %w", err)
	}
	defer rows.Close()
	var out []AlertRule
	for rows.Next() {
		var a AlertRule
		var secs, created, last int64
		if err := rows.Scan(&a.ID, &a.SavedSearchID, &a.Name, &a.Params, &a.MinLevel, &secs, &a.Enabled, &a.CreatedBy, &created, &last, &a.LastError); err != nil {
			return nil, fmt.Errorf("web: list alert rules: %w", err)
		}
		a.Interval = time.Duration(secs) * time.Second
		a.CreatedAt = time.Unix(created, 0)
		if last > 0 {
			a.LastRunAt = time.Unix(last, 0)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// MarkAlertRuleRun records that rule id ran at t (and clears the reason a
// run was refused).
func (s *Store) MarkAlertRuleRun(ctx context.Context, id int64, t time.Time) error {
	return s.markAlertRule(ctx, id, t, "")
}

// MarkAlertRuleRefused records that rule id's run at t was refused and
// why; it waits its interval before it is tried again, and the rule says
// why in the UI and the API until a run succeeds.
func (s *Store) MarkAlertRuleRefused(ctx context.Context, id int64, t time.Time, reason string) error {
	return s.markAlertRule(ctx, id, t, RefusalReason(reason))
}

func (s *Store) markAlertRule(ctx context.Context, id int64, t time.Time, reason string) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE web_alert_rules SET last_run_at = ?, last_error = ? WHERE id = ?`, t.Unix(), reason, id); err != nil {
		return fmt.Errorf("web: mark alert rule %d: %w", id, err)
	}
	return nil
}

// DeleteAlertRule removes a rule.
func (s *Store) DeleteAlertRule(ctx context.Context, id int64) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM web_alert_rules WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("web: delete alert rule %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("web: alert rule %d: %w", id, ErrNotFound)
	}
	return nil
}

// AlertRules returns the alert rules to run (see AlertRule and
// pipeline.AlertRules).
func (s *Server) AlertRules(ctx context.Context) ([]AlertRule, error) { return s.store.AlertRules(ctx) }

// ownerFilter is the user whose saved searches a request may delete: its
// own, or anyone's for admins ("").
func ownerFilter(r *http.Request) string {
	p := principalFrom(r.Context())
	if p.User.Role.AtLeast(RoleAdmin) {
		return ""
	}
	return p.User.Name
}

// savedSearchCreate saves the current search under a name.
func (s *Server) savedSearchCreate(w http.ResponseWriter, r *http.Request) {
	params := r.PostFormValue("params")
	v, _ := url.ParseQuery(params)
	ss, err := s.store.SaveSearch(r.Context(), actor(r), r.PostFormValue("name"), searchValues(v).Encode())
	if err != nil {
		http.Redirect(w, r, "/search?"+params+"&ok=save_failed", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, ss.URL()+"&ok=search_saved", http.StatusSeeOther)
}

// savedSearchDelete deletes a saved search.
func (s *Server) savedSearchDelete(w http.ResponseWriter, r *http.Request) {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err := s.store.DeleteSavedSearch(r.Context(), ownerFilter(r), id); err != nil {
		s.renderError(w, r, http.StatusNotFound, "error.notfound")
		return
	}
	http.Redirect(w, r, "/search?ok=search_deleted", http.StatusSeeOther)
}

// alertRuleCreate turns a saved search into an alert rule.
func (s *Server) alertRuleCreate(w http.ResponseWriter, r *http.Request) {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	interval, err := time.ParseDuration(r.PostFormValue("interval"))
	if err == nil {
		err = s.checkRuleQuery(r, id)
	}
	if err == nil {
		_, err = s.store.CreateAlertRule(r.Context(), id, r.PostFormValue("min_level"), interval, actor(r))
	}
	if err != nil {
		s.log.Warn("create alert rule", "error", err)
		http.Redirect(w, r, "/search?ok=rule_failed", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/search?ok=rule_created", http.StatusSeeOther)
}

// alertRuleDelete deletes an alert rule.
func (s *Server) alertRuleDelete(w http.ResponseWriter, r *http.Request) {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err := s.store.DeleteAlertRule(r.Context(), id); err != nil {
		s.renderError(w, r, http.StatusNotFound, "error.notfound")
		return
	}
	http.Redirect(w, r, "/search?ok=rule_deleted", http.StatusSeeOther)
}

// apiSavedSearchList answers GET /api/v1/saved-searches (the caller's).
func (s *Server) apiSavedSearchList(w http.ResponseWriter, r *http.Request) {
	list, err := s.store.SavedSearches(r.Context(), actor(r))
	if err != nil {
		s.apiServerError(w, r, err)
		return
	}
	if list == nil {
		list = []SavedSearch{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"total": len(list), "items": list})
}

// apiSavedSearchCreate answers POST /api/v1/saved-searches {"name","params"}.
func (s *Server) apiSavedSearchCreate(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name   string `json:"name"`
		Params string `json:"params"`
	}
	if !decodeJSON(w, r, &in) {
		return
	}
	if principalFrom(r.Context()).User.ID == 0 {
		writeJSONError(w, http.StatusBadRequest, "saved searches belong to a user: call with a user's API token (riskmine users token NAME), not RISKMINE_API_TOKEN")
		return
	}
	v, err := url.ParseQuery(in.Params)
	if err != nil {
		writeJSONError(w, http.StatusBadRequest, "params must be URL-encoded search parameters such as q=火灾&category=fire")
		return
	}
	if _, err := parseSearchQuery(v, s.opts.Location); err != nil {
		writeJSONError(w, http.StatusBadRequest, err.Error())
		return
	}
	ss, err := s.store.SaveSearch(r.Context(), actor(r), in.Name, searchValues(v).Encode())
	if err != nil {
		writeJSONError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusCreated, ss)
}

// apiSavedSearchDelete answers DELETE /api/v1/saved-searches/{id}.
func (s *Server) apiSavedSearchDelete(w http.ResponseWriter, r *http.Request) {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err := s.store.DeleteSavedSearch(r.Context(), ownerFilter(r), id); err != nil {
		writeJSONError(w, http.StatusNotFound, err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// apiAlertRuleList answers GET /api/v1/alert-rules.
func (s *Server) apiAlertRuleList(w http.ResponseWriter, r *http.Request) {
	rules, err := s.store.AlertRules(r.Context())
	if err != nil {
		s.apiServerError(w, r, err)
		return
	}
	if rules == nil {
		rules = []AlertRule{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"total": len(rules), "items": rules})
}

// apiAlertRuleCreate answers POST /api/v1/alert-rules
// {"saved_search_id","min_level","interval":"15m"}.
func (s *Server) apiAlertRuleCreate(w http.ResponseWriter, r *http.Request) {
	var in struct {
		SavedSearchID int64  `json:"saved_search_id"`
		MinLevel      string `json:"min_level"`
		Interval      string `json:"interval"`
	}
	if !decodeJSON(w, r, &in) {
		return
	}
	d, err := time.ParseDuration(in.Interval)
	if err != nil {
		writeJSONError(w, http.StatusBadRequest, "interval must be a duration such as 15m")
		return
	}
	if err := s.checkRuleQuery(r, in.SavedSearchID); err != nil {
		status := http.StatusBadRequest
		switch {
		case errors.Is(err, ErrNotFound):
			status = http.StatusNotFound
		case errors.Is(err, index.ErrBadQuery):
			err = errors.New("the saved search cannot become an alert rule: bad query: " + queryProblem(err))
		case errors.Is(err, index.ErrTimeout):
			err = errors.New("the saved search cannot become an alert rule: " + queryProblem(err))
		default:
			s.apiServerError(w, r, err)
			return
		}
		writeJSONError(w, status, err.Error())
		return
	}
	rule, err := s.store.CreateAlertRule(r.Context(), in.SavedSearchID, in.MinLevel, d, actor(r))
	if err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, ErrNotFound) {
			status = http.StatusNotFound
		}
		writeJSONError(w, status, err.Error())
		return
	}
	writeJSON(w, http.StatusCreated, rule)
}

// apiAlertRuleDelete answers DELETE /api/v1/alert-rules/{id}.
func (s *Server) apiAlertRuleDelete(w http.ResponseWriter, r *http.Request) {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err := s.store.DeleteAlertRule(r.Context(), id); err != nil {
		writeJSONError(w, http.StatusNotFound, err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// checkRuleQuery runs the query of a saved search once, through the same
// bounds as every search, before it becomes an alert rule: a query the
// index refuses would only be refused again at every run.
func (s *Server) checkRuleQuery(r *http.Request, savedID int64) error {
	ss, err := s.store.SavedSearch(r.Context(), savedID)
	if err != nil {
		return err
	}
	if s.deps.Search == nil {
		return nil
	}
	v, err := url.ParseQuery(ss.Params)
	if err != nil {
		return fmt.Errorf("%w: %v", index.ErrBadQuery, err)
	}
	q, err := parseSearchQuery(v, s.opts.Location)
	if err != nil {
		return fmt.Errorf("%w: %v", index.ErrBadQuery, err)
	}
	q.Size, q.NoFacets = 1, true
	_, err = s.deps.Search.Search(r.Context(), q)
	return err
}
