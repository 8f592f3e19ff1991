package alerts

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Webhook events an endpoint can subscribe to.
const (
	EventLeadCreated      = "lead_created"
	EventLeadUpdated      = "lead_updated"
	EventLeadStateChanged = "lead_state_changed"
)

// Endpoint is one webhook receiver.
type Endpoint struct {
	Name string `json:"name"`
	URL  string `json:"url"`
	// Secret is whsec_ followed by the base64 of the key bytes. It is never
	// marshalled.
	Secret string `json:"-"`
	// Format is standard (Standard Webhooks body), thehive, or a
	// notification channel: dingtalk, wecom or email (see notify.go). A
	// dingtalk Secret is the robot's SEC… signing secret.
	Format string `json:"format"`
	// Categories, when set, keeps leads with one of these category codes.
	Categories []string `json:"categories,omitempty"`
	// MinLevel keeps leads at this level or above.
	MinLevel string `json:"min_level,omitempty"`
	// LocationPrefixes keeps leads with a location code starting with one.
	LocationPrefixes []string `json:"location_prefixes,omitempty"`
	// Events lists the subscribed events; empty means all.
	Events []string `json:"events,omitempty"`
	// Bursts opts in to burst leads (Lead.Kind "burst"); without it the
	// endpoint gets only leads filed from posts.
	Bursts bool `json:"bursts,omitempty"`
	// SourceHealth opts in to source health events (a crawl source stopped
	// yielding items, its selectors stopped matching, robots.txt started
	// blocking it, or it recovered); see health.go.
	SourceHealth bool `json:"source_health,omitempty"`
	// Timeout per attempt (default 10s).
	Timeout time.Duration `json:"timeout_ns,omitempty"`
	// MaxAttempts before dead-lettering (default DefaultMaxAttempts, the
	// length of the retry schedule plus the first attempt).
	MaxAttempts int `json:"max_attempts,omitempty"`
	// AllowPrivate lets deliveries reach loopback, private and link-local
	// addresses (an intranet case platform); cloud metadata addresses stay
	// refused.
	AllowPrivate bool `json:"allow_private,omitempty"`
	// RateLimit is how many messages a notification channel sends a
	// minute (default DefaultRateLimit); more are folded into a digest.
	RateLimit int `json:"rate_limit,omitempty"`
	// Email holds the SMTP settings of an email endpoint.
	Email *EmailSettings `json:"email,omitempty"`
}

// DefaultMaxAttempts is an endpoint's attempts when it sets none: the
// first attempt and one retry per step of RetrySchedule.
const DefaultMaxAttempts = 8

func (e Endpoint) timeout() time.Duration {
	if e.Timeout <= 0 {
		return 10 * time.Second
	}
	return e.Timeout
}

func (e Endpoint) maxAttempts() int {
	if e.MaxAttempts <= 0 {
		return DefaultMaxAttempts
	}
	return e.MaxAttempts
}

// wants reports whether the endpoint takes event for lead l.
func (e Endpoint) wants(event string, l *Lead) bool {
	if len(e.Events) > 0 && !contains(e.Events, event) {
		return false
	}
	if l.Kind == KindBurst && !e.Bursts {
		return false
	}
	if e.MinLevel != "" && LevelRank(l.Level) < LevelRank(e.MinLevel) {
		return false
	}
	if len(e.Categories) > 0 {
		hit := false
		for _, c := range l.Categories {
			if contains(e.Categories, c.Code) {
				hit = true
				break
			}
		}
		if !hit {
			return false
		}
	}
	if len(e.LocationPrefixes) > 0 {
		hit := false
		for _, loc := range l.Locations {
			for _, p := range e.LocationPrefixes {
				if strings.HasPrefix(loc.Code, p) {
					hit = true
				}
			}
		}
		if !hit {
			return false
		}
	}
	return true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// ParseSecret decodes a whsec_<base64> secret into its key bytes.
func ParseSecret(secret string) ([]byte, error) {
	key, err := parseSecret(secret)
	if err != nil {
		return nil, fmt.Errorf("alerts: %w", err)
	}
	return key, nil
}

func parseSecret(secret string) ([]byte, error) {
	rest, ok := strings.CutPrefix(secret, "whsec_")
	if !ok {
		return nil, errors.New("webhook secret must start with whsec_")
	}
	key, err := base64.StdEncoding.DecodeString(rest)
	if err != nil {
		// Some tools emit unpadded base64.
		if k2, err2 := base64.RawStdEncoding.DecodeString(rest); err2 == nil {
			return k2, nil
		}
		return nil, fmt.Errorf("webhook secret after whsec_ is not base64: %w", err)
	}
	if len(key) == 0 {
		return nil, errors.New("webhook secret is empty")
	}
	return key, nil
}

// Sign returns the webhook-signature header value for a message:
// "v1," + base64(HMAC-SHA256(key, id + "." + timestamp + "." + body)).
func Sign(key []byte, id string, timestamp int64, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write([]byte(strconv.FormatInt(timestamp, 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// ErrBadSignature is returned by Verify for a message that does not match.
var ErrBadSignature = errors.New("alerts: webhook signature does not match")

// Verify checks a received webhook: secret is the whsec_ secret, id and
// timestamp the webhook-id and webhook-timestamp headers, signatureHeader
// the webhook-signature header (space-separated "v1,<sig>" entries, any of
// which may match). tolerance, when positive, rejects timestamps further
// than that from now.
func Verify(secret, id, timestamp string, body []byte, signatureHeader string, now time.Time, tolerance time.Duration) error {
	key, err := ParseSecret(secret)
	if err != nil {
		return err
	}
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("alerts: bad webhook-timestamp %q: %w", timestamp, err)
	}
	if tolerance > 0 {
		d := now.Sub(time.Unix(ts, 0))
		if d > tolerance || d < -tolerance {
			return fmt.Errorf("alerts: webhook-timestamp %s is outside the %v tolerance: %w", timestamp, tolerance, ErrBadSignature)
		}
	}
	want := Sign(key, id, ts, body)
	for _, s := range strings.Fields(signatureHeader) {
		if hmac.Equal([]byte(s), []byte(want)) {
			return nil
		}
	}
	return ErrBadSignature
}

// eventType maps an event to the Standard Webhooks "type" field.
func eventType(event string) string {
	switch event {
	case EventLeadCreated:
		return "risk_lead.created"
	case EventLeadUpdated:
		return "risk_lead.updated"
	case EventLeadStateChanged:
		return "risk_lead.state_changed"
	}
	return "risk_lead." + event
}

// standardBody is the Standard Webhooks payload.
type standardBody struct {
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      *Lead     `json:"data"`
}

// theHiveAlert is the TheHive-shaped alert body.
type theHiveAlert struct {
	Type        string   `json:"type"`
	Source      string   `json:"source"`
	SourceRef   string   `json:"sourceRef"`
	Title       string   `json:"title"`
	Description string   `json:"description"`
	Severity    int      `json:"severity"`
	Date        int64    `json:"date"`
	Tags        []string `json:"tags"`
}

// theHiveSeverity maps levels to TheHive's 1 (low) … 4 (critical).
func theHiveSeverity(level string) int {
	switch level {
	case "critical":
		return 4
	case "high":
		return 3
	case "medium":
		return 2
	}
	return 1
}

// renderBody builds the request body of event for l in the endpoint's format.
func renderBody(format, event string, l *Lead, at time.Time) ([]byte, error) {
	if format == "thehive" {
		var desc strings.Builder
		fmt.Fprintf(&desc, "%s\n\nLevel: %s (score %.1f), state: %s, sources: %d\n", l.Summary, l.Level, l.Score, l.State, l.SourceCount)
		if cues := l.LevelReasons(8); len(cues) > 0 {
			why := make([]string, len(cues))
			for i, q := range cues {
				why[i] = q.Kind + " 「" + q.Text + "」"
			}
			fmt.Fprintf(&desc, "Why %s: %s\n", l.Level, strings.Join(why, "; "))
		}
		if l.Place != "" {
			fmt.Fprintf(&desc, "Place: %s %s\n", l.Place, l.PlaceCode)
		}
		for _, loc := range l.Locations {
			fmt.Fprintf(&desc, "Location: %s %s\n", loc.Code, loc.Name)
		}
		for _, s := range l.Sources {
			fmt.Fprintf(&desc, "Source: %s %s\n", s.Title, s.URL)
		}
		tags := []string{"riskmine", "event:" + event, "level:" + l.Level, "state:" + l.State}
		for _, c := range l.Categories {
			tags = append(tags, "category:"+c.Code)
		}
		for _, loc := range l.Locations {
			tags = append(tags, "location:"+loc.Code)
		}
		return json.Marshal(theHiveAlert{
			Type:        "risk_lead",
			Source:      "riskmine",
			SourceRef:   l.ID,
			Title:       l.Title,
			Description: desc.String(),
			Severity:    theHiveSeverity(l.Level),
			Date:        l.FirstSeen.UnixMilli(),
			Tags:        tags,
		})
	}
	return json.Marshal(standardBody{Type: eventType(event), Timestamp: at.UTC(), Data: l})
}
