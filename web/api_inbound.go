package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"riskmine/alerts"
)

// maxInboundBytes caps an inbound request body; more answers 413.
const maxInboundBytes = 64 << 10

// inboundTolerance is how far a webhook-timestamp may be from now.
const inboundTolerance = 5 * time.Minute

// inboundEvent is the body a case platform sends.
type inboundEvent struct {
	Type string `json:"type"`
	Data struct {
		LeadID     string `json:"lead_id"`
		CaseNumber string `json:"case_number"`
		State      string `json:"state"`
		Unit       string `json:"unit"`
		Note       string `json:"note"`
		Version    int    `json:"version"`
	} `json:"data"`
}

func (s *Server) inboundStore() InboundStore {
	if s.deps.Inbound != nil {
		return s.deps.Inbound
	}
	if in, ok := s.deps.Leads.(InboundStore); ok {
		return in
	}
	return nil
}

// apiInbound answers POST /api/v1/inbound/{platform}: a case platform,
// authenticated by its Standard Webhooks signature, sets a lead's case
// number and moves it to dispatched, handled, verified or closed. A
// replayed webhook-id gets the first answer again without acting.
func (s *Server) apiInbound(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("platform")
	secret, ok := s.deps.Platforms[name]
	if !ok {
		writeJSONError(w, http.StatusNotFound, "platform: no case platform of that name is configured")
		return
	}
	store := s.inboundStore()
	if s.deps.Leads == nil || store == nil {
		writeJSONError(w, http.StatusServiceUnavailable, "the lead store is not available")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxInboundBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeJSONError(w, http.StatusRequestEntityTooLarge, "body: larger than 64 KiB")
			return
		}
		writeJSONError(w, http.StatusBadRequest, "body: could not be read")
		return
	}
	id := r.Header.Get("webhook-id")
	if id == "" || len(id) > 200 {
		writeJSONError(w, http.StatusBadRequest, "webhook-id: header required (at most 200 bytes)")
		return
	}
	if err := alerts.Verify(secret, id, r.Header.Get("webhook-timestamp"), body, r.Header.Get("webhook-signature"), s.now(), inboundTolerance); err != nil {
		writeJSONError(w, http.StatusUnauthorized, "webhook-signature: "+err.Error())
		return
	}
	ctx := r.Context()
	claimed, st, ans, seen, err := store.ClaimInbound(ctx, name, id)
	switch {
	case err != nil:
		s.apiServerError(w, r, err)
		return
	case seen:
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Idempotent-Replayed", "true")
		w.WriteHeader(st)
		w.Write(ans)
		return
	case !claimed:
		// Another delivery of the same id is being acted on: its answer
		// is what a retry will get.
		w.Header().Set("Retry-After", "5")
		writeJSONError(w, http.StatusConflict, "webhook-id: a delivery of this id is being processed; retry to get its answer")
		return
	}
	st, ans = s.inboundApply(r, name, body)
	if st == http.StatusInternalServerError {
		if err := store.ReleaseInbound(context.WithoutCancel(ctx), name, id); err != nil {
			s.log.Error("release inbound claim", "platform", name, "webhook_id", id, "error", err)
		}
		s.apiServerError(w, r, errors.New(string(ans)))
		return
	}
	if err := store.RecordInbound(context.WithoutCancel(ctx), name, id, st, ans); err != nil {
		s.apiServerError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(st)
	w.Write(ans)
}

// inboundApply decodes and applies one verified event, returning the
// status and JSON body to answer (and remember for replays).
func (s *Server) inboundApply(r *http.Request, name string, body []byte) (int, []byte) {
	fail := func(st int, msg string) (int, []byte) {
		b, _ := json.Marshal(map[string]string{"error": msg})
		return st, b
	}
	var ev inboundEvent
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ev); err != nil {
		return fail(http.StatusBadRequest, "body: expected {\"type\":\"case.updated\",\"data\":{…}}: "+err.Error())
	}
	if ev.Type != "case.updated" {
		return fail(http.StatusBadRequest, "type: expected case.updated")
	}
	d := ev.Data
	if d.LeadID == "" {
		return fail(http.StatusBadRequest, "data.lead_id: required")
	}
	switch d.State {
	case alerts.StateDispatched, alerts.StateHandled, alerts.StateVerified, alerts.StateClosed:
	default:
		return fail(http.StatusBadRequest, "data.state: expected dispatched, handled, verified or closed")
	}
	if len(d.CaseNumber) > 100 || strings.ContainsAny(d.CaseNumber, "\r\n") {
		return fail(http.StatusBadRequest, "data.case_number: at most 100 bytes on one line")
	}
	if d.Version < 0 {
		return fail(http.StatusBadRequest, "data.version: must be 0 (no check) or more")
	}
	lead, err := s.deps.Leads.Transition(r.Context(), d.LeadID, alerts.TransitionRequest{
		To: d.State, Actor: "platform:" + name, Note: d.Note, Unit: d.Unit, CaseNumber: d.CaseNumber, Version: d.Version,
	})
	if err != nil {
		st, _ := actionStatus(err)
		if st == http.StatusInternalServerError {
			return st, []byte(err.Error())
		}
		return fail(st, err.Error())
	}
	b, err := json.Marshal(s.piiFor(r).lead(lead))
	if err != nil {
		return http.StatusInternalServerError, []byte(err.Error())
	}
	return http.StatusOK, b
}
