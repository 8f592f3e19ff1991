package alerts

import (
	"errors"
	"fmt"
	"strings"
)

// Lead states: the city case loop 采集—立案—派遣—处置—核查—结案 plus the two
// ways out of it.
const (
	StateNew        = "new"        // 采集: filed, not yet reviewed
	StateConfirmed  = "confirmed"  // 立案: accepted as a case
	StateDispatched = "dispatched" // 派遣: sent to a unit
	StateHandled    = "handled"    // 处置: the unit reports it handled
	StateVerified   = "verified"   // 核查: handling checked
	StateClosed     = "closed"     // 结案
	StateDismissed  = "dismissed"  // false positive (reason required)
	StateMerged     = "merged"     // duplicate of another lead
)

// States lists every lead state in loop order.
var States = []string{StateNew, StateConfirmed, StateDispatched, StateHandled, StateVerified, StateClosed, StateDismissed, StateMerged}

// openStates are the states a lead can still change from; new posts join
// only open leads.
var openStates = []string{StateNew, StateConfirmed, StateDispatched, StateHandled, StateVerified}

// transitions lists the allowed moves. handled → dispatched sends work back
// when verification fails. dismissed → new and closed → confirmed reopen a
// lead (see ReopenState); a merged lead stays merged.
var transitions = map[string][]string{
	StateNew:        {StateConfirmed, StateDismissed, StateMerged},
	StateConfirmed:  {StateDispatched, StateDismissed, StateMerged},
	StateDispatched: {StateHandled, StateMerged},
	StateHandled:    {StateVerified, StateDispatched, StateMerged},
	StateVerified:   {StateClosed, StateMerged},
	StateDismissed:  {StateNew},
	StateClosed:     {StateConfirmed},
}

// ReopenState returns the open state a lead in state from goes back to when
// it is reopened, and false when it cannot be reopened. A dismissed lead
// goes back to new: the dismissal was its verdict, and reopening asks for
// a fresh review. A closed lead goes back to confirmed: it was a case, and
// the case is open again, to be dispatched anew. A merged lead cannot be
// reopened: its sources now belong to the lead it was merged into. Reopening
// needs a note saying why (TransitionRequest.Note).
func ReopenState(from string) (string, bool) {
	switch from {
	case StateDismissed:
		return StateNew, true
	case StateClosed:
		return StateConfirmed, true
	}
	return "", false
}

// isReopen reports whether from → to reopens a finished lead.
func isReopen(from, to string) bool {
	back, ok := ReopenState(from)
	return ok && back == to
}

// IsOpen reports whether a lead in state s can still change state.
func IsOpen(s string) bool {
	for _, o := range openStates {
		if o == s {
			return true
		}
	}
	return false
}

// validState reports whether s is a known state.
func validState(s string) bool {
	for _, o := range States {
		if o == s {
			return true
		}
	}
	return false
}

// Sentinel errors; test with errors.Is.
var (
	// ErrNotFound: no such lead or delivery.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the version given is stale, someone changed the lead first.
	ErrConflict = errors.New("version conflict")
	// ErrIllegalTransition: the lead's state does not allow the move.
	ErrIllegalTransition = errors.New("illegal transition")
	// ErrInvalid: a request misses a required field or has a bad value.
	ErrInvalid = errors.New("invalid request")
	// ErrReasonRequired: dismissing without a reason. It matches ErrInvalid
	// with errors.Is.
	ErrReasonRequired = fmt.Errorf("reason required: %w", ErrInvalid)
)

// TransitionError is an illegal move from one state to another. It matches
// ErrIllegalTransition with errors.Is.
type TransitionError struct {
	LeadID string
	From   string
	To     string
}

// Error names the lead, the refused move and the moves allowed instead.
func (e *TransitionError) Error() string {
	allowed := transitions[e.From]
	hint := "none: the lead is no longer open"
	if len(allowed) > 0 {
		hint = strings.Join(allowed, ", ")
	}
	return fmt.Sprintf("alerts: lead %s: illegal transition %s → %s (allowed from %s: %s)", e.LeadID, e.From, e.To, e.From, hint)
}

// Unwrap makes errors.Is(err, ErrIllegalTransition) true.
func (e *TransitionError) Unwrap() error { return ErrIllegalTransition }

// TransitionRequest asks to move a lead to another state.
type TransitionRequest struct {
	To    string
	Actor string
	Note  string
	// Reason is required for dismissed and recorded as the resolution of
	// handled, verified and closed leads when given.
	Reason string
	// Assignee, when set, assigns the lead in the same change.
	Assignee string
	// Unit is the unit a lead is dispatched to (required for dispatched
	// unless the lead already has one).
	Unit string
	// MergeInto is the target lead id, required for merged.
	MergeInto string
	// Version is the version the actor saw; 0 skips the check.
	Version int
	// CaseNumber, when set, records the case platform's number on the lead.
	CaseNumber string
}

// checkTransition validates a move from → req.To on lead id.
func checkTransition(id, from string, req TransitionRequest, currentUnit string) error {
	if !validState(req.To) {
		return fmt.Errorf("alerts: lead %s: unknown state %q, expected one of %s: %w", id, req.To, strings.Join(States, ", "), ErrInvalid)
	}
	ok := false
	for _, t := range transitions[from] {
		if t == req.To {
			ok = true
		}
	}
	if !ok {
		return &TransitionError{LeadID: id, From: from, To: req.To}
	}
	if isReopen(from, req.To) && strings.TrimSpace(req.Note) == "" {
		return fmt.Errorf("alerts: lead %s: reopening a %s lead needs a note saying why: %w", id, from, ErrInvalid)
	}
	switch req.To {
	case StateDismissed:
		if strings.TrimSpace(req.Reason) == "" {
			return fmt.Errorf("alerts: lead %s: dismissing needs a reason: %w", id, ErrReasonRequired)
		}
	case StateMerged:
		if req.MergeInto == "" {
			return fmt.Errorf("alerts: lead %s: merging needs the target lead id: %w", id, ErrInvalid)
		}
		if req.MergeInto == id {
			return fmt.Errorf("alerts: lead %s: cannot merge a lead into itself: %w", id, ErrInvalid)
		}
	case StateDispatched:
		if req.Unit == "" && currentUnit == "" {
			return fmt.Errorf("alerts: lead %s: dispatching needs the unit: %w", id, ErrInvalid)
		}
	}
	return nil
}

// AssignRequest assigns a lead to an analyst.
type AssignRequest struct {
	Actor    string
	Assignee string
	Note     string
	Version  int // 0 skips the check
}
