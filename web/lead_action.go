package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"riskmine/alerts"
)

// leadAction is one analyst action on a lead, from a form or the API.
type leadAction struct {
	Action    string `json:"action"` // confirm, dismiss, assign, dispatch, handled, verify, close, merge, reopen, note
	Reason    string `json:"reason"`
	Note      string `json:"note"`
	Unit      string `json:"unit"`
	Assignee  string `json:"assignee"`
	MergeInto string `json:"merge_into"`
	// Version is the lead version the analyst saw; a newer version in the
	// store means someone else acted first, and the action is refused.
	Version int `json:"version"`
}

// actionTargets maps the state-changing actions to lead states.
var actionTargets = map[string]string{
	"confirm":  alerts.StateConfirmed,
	"dismiss":  alerts.StateDismissed,
	"dispatch": alerts.StateDispatched,
	"handled":  alerts.StateHandled,
	"verify":   alerts.StateVerified,
	"close":    alerts.StateClosed,
	"merge":    alerts.StateMerged,
}

// actionsByState lists the actions the lead page offers in each state; the
// store checks the same moves and has the last word.
var actionsByState = map[string][]string{
	alerts.StateNew:        {"confirm", "dismiss", "merge"},
	alerts.StateConfirmed:  {"dispatch", "dismiss", "merge"},
	alerts.StateDispatched: {"handled", "merge"},
	alerts.StateHandled:    {"verify", "dispatch", "merge"},
	alerts.StateVerified:   {"close", "merge"},
	alerts.StateDismissed:  {"reopen"},
	alerts.StateClosed:     {"reopen"},
}

// errUnknownAction is returned for an action name that does not exist.
var errUnknownAction = errors.New("unknown action")

// errNoVersion is returned for a change that does not say which version of
// the lead its author saw: without it a stale page would overwrite a
// colleague's decision.
var errNoVersion = errors.New("version required: send the lead version you saw (it is on the lead, GET /api/v1/leads/{id})")

// Limits of the text fields of a lead action, in characters.
const (
	MaxNoteLen     = 10000
	MaxReasonLen   = 500
	MaxUnitLen     = 200
	MaxAssigneeLen = 64
	MaxLeadIDLen   = 64
)

// check refuses an action with a field over its length limit or, for
// anything but a note (notes only add to the trail), without a version.
func (a leadAction) check() error {
	for _, f := range []struct {
		name, v string
		max     int
	}{{"action", a.Action, 32}, {"note", a.Note, MaxNoteLen}, {"reason", a.Reason, MaxReasonLen}, {"unit", a.Unit, MaxUnitLen},
		{"assignee", a.Assignee, MaxAssigneeLen}, {"merge_into", a.MergeInto, MaxLeadIDLen}} {
		if err := checkLen(f.name, f.v, f.max); err != nil {
			return fmt.Errorf("%w: %w", alerts.ErrInvalid, err)
		}
	}
	if a.Action != "note" && a.Version <= 0 {
		return errNoVersion
	}
	return nil
}

// applyLeadAction performs a on lead id as the request's user.
func (s *Server) applyLeadAction(ctx context.Context, who, id string, a leadAction) (*alerts.Lead, error) {
	if err := a.check(); err != nil {
		return nil, err
	}
	// An empty assignee on assign unassigns; any name must be a user who
	// can work the lead.
	if name := strings.TrimSpace(a.Assignee); name != "" {
		stored, err := s.checkAssignee(ctx, name)
		if err != nil {
			return nil, err
		}
		a.Assignee = stored
	}
	switch a.Action {
	case "note":
		if strings.TrimSpace(a.Note) == "" {
			return nil, fmt.Errorf("a note needs text: %w", alerts.ErrInvalid)
		}
		return s.deps.Leads.AddNote(ctx, id, who, a.Note)
	case "assign":
		return s.deps.Leads.Assign(ctx, id, alerts.AssignRequest{Actor: who, Assignee: strings.TrimSpace(a.Assignee), Note: a.Note, Version: a.Version})
	case "reopen":
		// The target depends on the state the author saw; the store checks
		// the version, so a lead changed meanwhile is a conflict.
		l, _, err := s.deps.Leads.GetLeadWindow(ctx, id, alerts.SourceWindow{Limit: 1}) // its state; not its posts
		if err != nil {
			return nil, err
		}
		to, ok := alerts.ReopenState(l.State)
		if !ok {
			return nil, fmt.Errorf("lead %s is %s and cannot be reopened (only dismissed and closed leads can): %w", id, l.State, alerts.ErrIllegalTransition)
		}
		return s.deps.Leads.Transition(ctx, id, alerts.TransitionRequest{To: to, Actor: who, Note: a.Note, Version: a.Version})
	}
	to, ok := actionTargets[a.Action]
	if !ok {
		return nil, fmt.Errorf("%w %q, expected one of confirm, dismiss, assign, dispatch, handled, verify, close, merge, reopen, note", errUnknownAction, a.Action)
	}
	return s.deps.Leads.Transition(ctx, id, alerts.TransitionRequest{
		To: to, Actor: who, Note: a.Note, Reason: strings.TrimSpace(a.Reason), Assignee: strings.TrimSpace(a.Assignee),
		Unit: strings.TrimSpace(a.Unit), MergeInto: strings.TrimSpace(a.MergeInto), Version: a.Version,
	})
}

// actionStatus maps an action error to an HTTP status and a message key.
func actionStatus(err error) (int, string) {
	switch {
	case errors.Is(err, alerts.ErrNotFound):
		return http.StatusNotFound, "lead.err_notfound"
	case errors.Is(err, alerts.ErrConflict):
		return http.StatusConflict, "lead.err_conflict"
	case errors.Is(err, alerts.ErrIllegalTransition):
		return http.StatusConflict, "lead.err_illegal"
	case errors.Is(err, alerts.ErrInvalid), errors.Is(err, errUnknownAction), errors.Is(err, errNoVersion):
		return http.StatusBadRequest, "lead.err_invalid"
	}
	return http.StatusInternalServerError, "error.internal"
}

// leadAction handles the action forms of the lead page.
func (s *Server) leadAction(w http.ResponseWriter, r *http.Request) {
	if s.deps.Leads == nil {
		s.renderError(w, r, http.StatusServiceUnavailable, "error.unavailable")
		return
	}
	id := r.PathValue("id")
	version := 0
	if v := r.PostFormValue("version"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			s.renderError(w, r, http.StatusBadRequest, "lead.err_invalid")
			return
		}
		version = n
	}
	a := leadAction{
		Action: r.PostFormValue("action"), Reason: r.PostFormValue("reason"), Note: r.PostFormValue("note"),
		Unit: r.PostFormValue("unit"), Assignee: r.PostFormValue("assignee"), MergeInto: r.PostFormValue("merge_into"),
		Version: version,
	}
	_, err := s.applyLeadAction(r.Context(), actor(r), id, a)
	if err != nil {
		status, key := actionStatus(err)
		if status == http.StatusInternalServerError {
			s.serverError(w, r, err)
			return
		}
		l := langFor(r)
		// The cause in the user's language; for a wrong field, its detail
		// (which field, what limit) without the packages' prefixes.
		code, cause := s.bulkCause(r.Context(), l, id, err)
		msg := cause
		if code == "invalid" {
			msg = l.T(key) + " (" + fieldDetail(err) + ")"
		}
		s.showLead(w, r, id, status, msg)
		return
	}
	http.Redirect(w, r, "/leads/"+id+"?ok=lead_"+a.Action, http.StatusSeeOther)
}

// bulkResult is the outcome of one lead in a bulk action.
type bulkResult struct {
	ID string `json:"id"`
	OK bool   `json:"ok"`
	// Code names the cause of a failure: not_found, conflict,
	// illegal_transition, reason_required, invalid_assignee or invalid.
	Code string `json:"code,omitempty"`
	// Error is the store's message (English, for logs and scripts).
	Error string `json:"error,omitempty"`
	// Message is the cause in the requester's language.
	Message string `json:"message,omitempty"`
}

// bulkLead is one lead of a bulk action with the version its author saw.
type bulkLead struct {
	ID      string `json:"id"`
	Version int    `json:"version"`
}

// parseBulkLead reads a checkbox of the queue: "ID:VERSION".
func parseBulkLead(v string) (bulkLead, error) {
	id, ver, ok := strings.Cut(v, ":")
	n, err := strconv.Atoi(ver)
	if !ok || err != nil || n <= 0 || id == "" {
		return bulkLead{}, fmt.Errorf("bulk item %q: expected ID:VERSION", v)
	}
	return bulkLead{ID: id, Version: n}, nil
}

// runBulk applies one action to many leads, each checked against the
// version its author saw (a lead changed meanwhile is reported as a
// conflict and left alone), and reports each outcome with its cause in
// the requester's language.
func (s *Server) runBulk(ctx context.Context, l loc, who string, leads []bulkLead, a leadAction) []bulkResult {
	out := make([]bulkResult, 0, len(leads))
	for _, b := range leads {
		a.Version = b.Version
		_, err := s.applyLeadAction(ctx, who, b.ID, a)
		res := bulkResult{ID: b.ID, OK: err == nil}
		if err != nil {
			res.Error = err.Error()
			res.Code, res.Message = s.bulkCause(ctx, l, b.ID, err)
		}
		out = append(out, res)
	}
	return out
}

// fieldDetail is an invalid action's error without the "alerts: …:" and
// "invalid" wrapping: the field and what it expects.
func fieldDetail(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, "alerts: "); i >= 0 {
		msg = msg[i+len("alerts: "):]
	}
	msg = strings.TrimPrefix(msg, alerts.ErrInvalid.Error()+": ")
	return strings.TrimSpace(msg)
}

// bulkCause names why an action failed on one lead (of a bulk action, or
// the lead page's own).
func (s *Server) bulkCause(ctx context.Context, l loc, id string, err error) (code, msg string) {
	var te *alerts.TransitionError
	switch {
	case errors.As(err, &te):
		return "illegal_transition", l.T("bulk.err_illegal", l.State(te.From))
	case errors.Is(err, alerts.ErrNotFound):
		return "not_found", l.T("bulk.err_notfound")
	case errors.Is(err, alerts.ErrConflict):
		return "conflict", l.T("bulk.err_conflict")
	case errors.Is(err, alerts.ErrReasonRequired):
		return "reason_required", l.T("bulk.err_reason")
	case errors.Is(err, errUnknownAssignee):
		return "invalid_assignee", l.T("bulk.err_assignee")
	case errors.Is(err, alerts.ErrInvalid), errors.Is(err, errNoVersion):
		// Assigning a finished lead is refused as invalid by the store;
		// its state is the cause the analyst needs.
		if lead, _, gerr := s.deps.Leads.GetLeadWindow(ctx, id, alerts.SourceWindow{Limit: 1}); gerr == nil && !alerts.IsOpen(lead.State) {
			return "illegal_transition", l.T("bulk.err_illegal", l.State(lead.State))
		}
		return "invalid", l.T("lead.err_invalid")
	}
	return "error", l.T("error.internal")
}

// bulkActions are the actions offered on the leads queue.
var bulkActions = []string{"confirm", "dismiss", "assign"}

// leadBulk handles the leads queue's bulk form.
func (s *Server) leadBulk(w http.ResponseWriter, r *http.Request) {
	if s.deps.Leads == nil {
		s.renderError(w, r, http.StatusServiceUnavailable, "error.unavailable")
		return
	}
	r.ParseForm()
	var leads []bulkLead
	for _, v := range r.PostForm["id"] {
		l, err := parseBulkLead(v)
		if err != nil {
			s.renderError(w, r, http.StatusBadRequest, "lead.err_invalid")
			return
		}
		leads = append(leads, l)
	}
	a := leadAction{Action: r.PostFormValue("action"), Reason: r.PostFormValue("reason"), Assignee: r.PostFormValue("assignee")}
	back := localRedirect(r.PostFormValue("back"))
	if len(leads) == 0 {
		http.Redirect(w, r, queryWith(back, "ok", "bulk_none"), http.StatusSeeOther)
		return
	}
	ok := false
	for _, b := range bulkActions {
		ok = ok || a.Action == b
	}
	if !ok || len(leads) > 1000 {
		s.renderError(w, r, http.StatusBadRequest, "lead.err_invalid")
		return
	}
	results := s.runBulk(r.Context(), langFor(r), actor(r), leads, a)
	failed := 0
	for _, res := range results {
		if !res.OK {
			failed++
			s.log.Warn("bulk lead action failed", "lead_id", res.ID, "action", a.Action, "error", res.Error)
		}
	}
	if failed == 0 {
		http.Redirect(w, r, queryWith(back, "ok", "bulk_done", "page", ""), http.StatusSeeOther)
		return
	}
	// The causes are shown with the queue the form came from, at once: they
	// are per lead and too many for a redirect's query.
	s.showLeads(w, r, back, &bulkReport{Action: a.Action, Done: len(results) - failed, Results: results})
}
