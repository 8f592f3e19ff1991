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
	Action    string `json:"action"` // confirm, dismiss, assign, dispatch, handled, verify, close, merge, note
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
}

// errUnknownAction is returned for an action name that does not exist.
var errUnknownAction = errors.New("unknown action")

// applyLeadAction performs a on lead id as the request's user.
func (s *Server) applyLeadAction(ctx context.Context, who, id string, a leadAction) (*alerts.Lead, error) {
	switch a.Action {
	case "note":
		if strings.TrimSpace(a.Note) == "" {
			return nil, fmt.Errorf("a note needs text: %w", alerts.ErrInvalid)
		}
		return s.deps.Leads.AddNote(ctx, id, who, a.Note)
	case "assign":
		return s.deps.Leads.Assign(ctx, id, alerts.AssignRequest{Actor: who, Assignee: strings.TrimSpace(a.Assignee), Note: a.Note, Version: a.Version})
	}
	to, ok := actionTargets[a.Action]
	if !ok {
		return nil, fmt.Errorf("%w %q, expected one of confirm, dismiss, assign, dispatch, handled, verify, close, merge, note", errUnknownAction, a.Action)
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
	case errors.Is(err, alerts.ErrInvalid), errors.Is(err, errUnknownAction):
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
		if err != nil || n < 0 {
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
		s.showLead(w, r, id, status, l.T(key)+" ("+err.Error()+")")
		return
	}
	http.Redirect(w, r, "/leads/"+id+"?ok=lead_"+a.Action, http.StatusSeeOther)
}

// bulkResult is the outcome of one lead in a bulk action.
type bulkResult struct {
	ID    string `json:"id"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// runBulk applies one action to many leads without version checks (the
// analyst acts on the list as shown) and reports each outcome.
func (s *Server) runBulk(ctx context.Context, who string, ids []string, a leadAction) []bulkResult {
	out := make([]bulkResult, 0, len(ids))
	a.Version = 0
	for _, id := range ids {
		_, err := s.applyLeadAction(ctx, who, id, a)
		res := bulkResult{ID: id, OK: err == nil}
		if err != nil {
			res.Error = err.Error()
		}
		out = append(out, res)
	}
	return out
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
	ids := r.PostForm["id"]
	a := leadAction{Action: r.PostFormValue("action"), Reason: r.PostFormValue("reason"), Assignee: r.PostFormValue("assignee")}
	back := localRedirect(r.PostFormValue("back"))
	if len(ids) == 0 {
		http.Redirect(w, r, queryWith(back, "ok", "bulk_none"), http.StatusSeeOther)
		return
	}
	ok := false
	for _, b := range bulkActions {
		ok = ok || a.Action == b
	}
	if !ok {
		s.renderError(w, r, http.StatusBadRequest, "lead.err_invalid")
		return
	}
	results := s.runBulk(r.Context(), actor(r), ids, a)
	failed := 0
	for _, res := range results {
		if !res.OK {
			failed++
			s.log.Warn("bulk lead action failed", "lead_id", res.ID, "action", a.Action, "error", res.Error)
		}
	}
	key := "bulk_done"
	if failed > 0 {
		key = "bulk_partial"
	}
	http.Redirect(w, r, queryWith(back, "ok", key, "page", ""), http.StatusSeeOther)
}
