package web

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"riskmine/alerts"
)

// endpointView is a webhook endpoint without its secret.
type endpointView struct {
	Name             string   `json:"name"`
	URL              string   `json:"url"`
	Format           string   `json:"format"`
	Categories       []string `json:"categories,omitempty"`
	MinLevel         string   `json:"min_level,omitempty"`
	LocationPrefixes []string `json:"location_prefixes,omitempty"`
	Events           []string `json:"events,omitempty"`
	MaxAttempts      int      `json:"max_attempts"`
	Disabled         string   `json:"disabled,omitempty"` // why, when the endpoint was disabled (HTTP 410)
}

type webhookData struct {
	Endpoints  []endpointView
	Deliveries []alerts.Delivery
	Total      int
	Attempts   []alerts.Attempt
	Selected   string
	State      string
	Endpoint   string
	Test       *alerts.TestResult
	TestName   string
	Page       int
	PrevURL    string
	NextURL    string
}

func (s *Server) endpointViews(r *http.Request) ([]endpointView, error) {
	var disabled map[string]string
	if s.deps.Outbox != nil {
		var err error
		if disabled, err = s.deps.Outbox.DisabledEndpoints(r.Context()); err != nil {
			return nil, err
		}
	}
	out := []endpointView{}
	for _, e := range s.deps.Endpoints {
		format := e.Format
		if format == "" {
			format = "standard"
		}
		out = append(out, endpointView{Name: e.Name, URL: maskURL(e.URL), Format: format, Categories: e.Categories, MinLevel: e.MinLevel,
			LocationPrefixes: e.LocationPrefixes, Events: e.Events, MaxAttempts: e.MaxAttempts, Disabled: disabled[e.Name]})
	}
	return out, nil
}

// secretParams are query parameter names whose values are masked when a
// webhook URL is shown (lower case; a name containing one counts).
var secretParams = []string{"token", "key", "secret", "sig", "pass", "auth", "code", "credential"}

// maskURL hides the credentials a webhook URL may carry — user and
// password, and the values of query parameters that look like secrets — so
// that the webhooks page and API do not hand them to every admin.
func maskURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	if u.User != nil {
		u.User = url.User("***")
	}
	if u.RawQuery != "" {
		q := u.Query()
		for k, vs := range q {
			lk := strings.ToLower(k)
			for _, sp := range secretParams {
				if strings.Contains(lk, sp) {
					for i := range vs {
						vs[i] = "***"
					}
					break
				}
			}
		}
		u.RawQuery = q.Encode()
	}
	return strings.ReplaceAll(u.String(), "%2A%2A%2A", "***")
}

// parseDeliveryFilter reads state, endpoint, lead and page parameters.
func parseDeliveryFilter(q url.Values) (alerts.DeliveryFilter, error) {
	f := alerts.DeliveryFilter{State: q.Get("state"), Endpoint: q.Get("endpoint"), LeadID: q.Get("lead"), Limit: 50}
	switch f.State {
	case "", alerts.DeliveryPending, alerts.DeliveryDelivered, alerts.DeliveryDead:
	default:
		return f, errors.New("state must be pending, delivered or dead")
	}
	if p := q.Get("page"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 1000000 {
			return f, errors.New("page must be a number from 1 to 1000000")
		}
		f.Offset = (n - 1) * f.Limit
	}
	return f, nil
}

// webhookPage shows the endpoints, the delivery log and one delivery's attempts.
func (s *Server) webhookPage(w http.ResponseWriter, r *http.Request) {
	s.showWebhooks(w, r, http.StatusOK, "", nil, "")
}

func (s *Server) showWebhooks(w http.ResponseWriter, r *http.Request, status int, errMsg string, test *alerts.TestResult, testName string) {
	q := r.URL.Query()
	data := &webhookData{Selected: q.Get("delivery"), State: q.Get("state"), Endpoint: q.Get("endpoint"), Test: test, TestName: testName, Page: 1}
	v := s.newView(r, "webhooks", "webhooks.title", data)
	v.Error = errMsg
	eps, err := s.endpointViews(r)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	data.Endpoints = eps
	if s.deps.Outbox == nil {
		v.Error = v.L.T("error.unavailable")
		s.render(w, r, http.StatusServiceUnavailable, "webhooks", v)
		return
	}
	f, err := parseDeliveryFilter(q)
	if err != nil {
		v.Error = err.Error()
		s.render(w, r, http.StatusBadRequest, "webhooks", v)
		return
	}
	data.Page = f.Offset/f.Limit + 1
	if data.Deliveries, data.Total, err = s.deps.Outbox.Deliveries(r.Context(), f); err != nil {
		s.serverError(w, r, err)
		return
	}
	if data.Page > 1 {
		data.PrevURL = queryWith(r.URL.RequestURI(), "page", itoa(data.Page-1))
	}
	if f.Offset+len(data.Deliveries) < data.Total {
		data.NextURL = queryWith(r.URL.RequestURI(), "page", itoa(data.Page+1))
	}
	if data.Selected != "" {
		if data.Attempts, err = s.deps.Outbox.Attempts(r.Context(), data.Selected); err != nil && !errors.Is(err, alerts.ErrNotFound) {
			s.serverError(w, r, err)
			return
		}
	}
	s.render(w, r, status, "webhooks", v)
}

// apiWebhookList answers GET /api/v1/webhooks.
func (s *Server) apiWebhookList(w http.ResponseWriter, r *http.Request) {
	eps, err := s.endpointViews(r)
	if err != nil {
		s.apiServerError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"total": len(eps), "items": eps})
}

// apiWebhookDeliveries answers GET /api/v1/webhooks/deliveries; with
// ?delivery=ID it adds that delivery's attempts.
func (s *Server) apiWebhookDeliveries(w http.ResponseWriter, r *http.Request) {
	if s.deps.Outbox == nil {
		writeJSONError(w, http.StatusServiceUnavailable, "the webhook outbox is not available")
		return
	}
	f, err := parseDeliveryFilter(r.URL.Query())
	if err != nil {
		writeJSONError(w, http.StatusBadRequest, err.Error())
		return
	}
	items, total, err := s.deps.Outbox.Deliveries(r.Context(), f)
	if err != nil {
		s.apiServerError(w, r, err)
		return
	}
	if items == nil {
		items = []alerts.Delivery{}
	}
	out := map[string]any{"total": total, "items": items}
	if id := r.URL.Query().Get("delivery"); id != "" {
		att, err := s.deps.Outbox.Attempts(r.Context(), id)
		if err != nil && !errors.Is(err, alerts.ErrNotFound) {
			s.apiServerError(w, r, err)
			return
		}
		if att == nil {
			att = []alerts.Attempt{}
		}
		out["attempts"] = att
	}
	writeJSON(w, http.StatusOK, out)
}
