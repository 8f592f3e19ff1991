package web

import (
	"errors"
	"net/http"
	"net/url"

	"riskmine/alerts"
)

// webhookReplay puts a delivery back in the queue.
func (s *Server) webhookReplay(w http.ResponseWriter, r *http.Request) {
	if s.deps.Dispatcher == nil {
		s.renderError(w, r, http.StatusServiceUnavailable, "error.unavailable")
		return
	}
	id := r.PathValue("id")
	if err := s.deps.Dispatcher.Replay(r.Context(), id); err != nil {
		if errors.Is(err, alerts.ErrNotFound) || errors.Is(err, alerts.ErrInvalid) {
			s.showWebhooks(w, r, http.StatusBadRequest, err.Error(), nil, "")
			return
		}
		s.serverError(w, r, err)
		return
	}
	s.log.Info("webhook delivery replayed", "delivery_id", id, "by", actor(r))
	http.Redirect(w, r, "/webhooks?ok=replayed&delivery="+url.QueryEscape(id), http.StatusSeeOther)
}

// webhookTest sends a signed test event and shows the receiver's answer.
func (s *Server) webhookTest(w http.ResponseWriter, r *http.Request) {
	if s.deps.Dispatcher == nil {
		s.renderError(w, r, http.StatusServiceUnavailable, "error.unavailable")
		return
	}
	name := r.PathValue("name")
	res, err := s.deps.Dispatcher.SendTest(r.Context(), name)
	if err != nil {
		status := http.StatusBadGateway
		if errors.Is(err, alerts.ErrNotFound) {
			status = http.StatusNotFound
		}
		s.showWebhooks(w, r, status, err.Error(), nil, name)
		return
	}
	s.showWebhooks(w, r, http.StatusOK, "", res, name)
}

// apiWebhookReplay answers POST /api/v1/webhooks/deliveries/{id}/replay.
func (s *Server) apiWebhookReplay(w http.ResponseWriter, r *http.Request) {
	if s.deps.Dispatcher == nil {
		writeJSONError(w, http.StatusServiceUnavailable, "the webhook dispatcher is not available")
		return
	}
	if err := s.deps.Dispatcher.Replay(r.Context(), r.PathValue("id")); err != nil {
		switch {
		case errors.Is(err, alerts.ErrNotFound):
			writeJSONError(w, http.StatusNotFound, err.Error())
		case errors.Is(err, alerts.ErrInvalid):
			writeJSONError(w, http.StatusConflict, err.Error())
		default:
			s.apiServerError(w, r, err)
		}
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "queued"})
}

// apiWebhookTest answers POST /api/v1/webhooks/{name}/test with the
// receiver's answer.
func (s *Server) apiWebhookTest(w http.ResponseWriter, r *http.Request) {
	if s.deps.Dispatcher == nil {
		writeJSONError(w, http.StatusServiceUnavailable, "the webhook dispatcher is not available")
		return
	}
	res, err := s.deps.Dispatcher.SendTest(r.Context(), r.PathValue("name"))
	if err != nil {
		if errors.Is(err, alerts.ErrNotFound) {
			writeJSONError(w, http.StatusNotFound, err.Error())
			return
		}
		writeJSONError(w, http.StatusBadGateway, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// webhookEnable re-enables an endpoint that answered 410 Gone.
func (s *Server) webhookEnable(w http.ResponseWriter, r *http.Request) {
	if s.deps.Outbox == nil {
		s.renderError(w, r, http.StatusServiceUnavailable, "error.unavailable")
		return
	}
	if err := s.deps.Outbox.EnableEndpoint(r.Context(), r.PathValue("name")); err != nil {
		s.serverError(w, r, err)
		return
	}
	http.Redirect(w, r, "/webhooks?ok=enabled", http.StatusSeeOther)
}

// apiWebhookEnable answers POST /api/v1/webhooks/{name}/enable.
func (s *Server) apiWebhookEnable(w http.ResponseWriter, r *http.Request) {
	if s.deps.Outbox == nil {
		writeJSONError(w, http.StatusServiceUnavailable, "the webhook outbox is not available")
		return
	}
	name := r.PathValue("name")
	known := false
	for _, e := range s.deps.Endpoints {
		known = known || e.Name == name
	}
	if !known {
		writeJSONError(w, http.StatusNotFound, "no webhook named "+name)
		return
	}
	if err := s.deps.Outbox.EnableEndpoint(r.Context(), name); err != nil {
		s.apiServerError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "enabled"})
}
