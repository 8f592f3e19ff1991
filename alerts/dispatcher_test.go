package alerts

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const testSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" // base64 of 24 random bytes

// checkSignature verifies a request by the Standard Webhooks spec, written
// here from the spec and not with the package's Sign or Verify: the key is
// the base64 after "whsec_", the signed content is "<id>.<timestamp>.<body>",
// the header holds space-separated "v1,<base64 HMAC-SHA256>" entries.
func checkSignature(secret string, h http.Header, body []byte) error {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return err
	}
	id, ts := h.Get("webhook-id"), h.Get("webhook-timestamp")
	if id == "" || ts == "" {
		return errors.New("missing webhook-id or webhook-timestamp")
	}
	if _, err := strconv.ParseInt(ts, 10, 64); err != nil {
		return fmt.Errorf("timestamp %q is not integer seconds", ts)
	}
	mac := hmac.New(sha256.New, key)
	io.WriteString(mac, id+"."+ts+".")
	mac.Write(body)
	want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	for _, part := range strings.Split(h.Get("webhook-signature"), " ") {
		version, sig, ok := strings.Cut(part, ",")
		if ok && version == "v1" && hmac.Equal([]byte(sig), []byte(want)) {
			return nil
		}
	}
	return fmt.Errorf("no valid v1 signature in %q", h.Get("webhook-signature"))
}

type received struct {
	id, ts string
	body   []byte
}

// receiver is a loopback webhook receiver whose answer the test sets.
type receiver struct {
	t   testing.TB
	srv *httptest.Server
	mu  sync.Mutex
	// respond answers a request; nil answers 200.
	respond func(w http.ResponseWriter, r *http.Request) bool
	got     []received
}

func newReceiver(t testing.TB) *receiver {
	rc := &receiver{t: t}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := checkSignature(testSecret, r.Header, body); err != nil {
			t.Errorf("receiver: bad signature: %v", err)
		}
		rc.mu.Lock()
		rc.got = append(rc.got, received{r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp"), body})
		respond := rc.respond
		rc.mu.Unlock()
		if respond != nil && respond(w, r) {
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) set(f func(w http.ResponseWriter, r *http.Request) bool) {
	rc.mu.Lock()
	rc.respond = f
	rc.mu.Unlock()
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

// down makes the receiver drop connections without answering.
func down(w http.ResponseWriter, r *http.Request) bool {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		conn.Close()
	}
	return true
}

func status(code int, headers ...string) func(http.ResponseWriter, *http.Request) bool {
	return func(w http.ResponseWriter, r *http.Request) bool {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.WriteHeader(code)
		return true
	}
}

func endpoint(name, url string) Endpoint {
	// The test receivers listen on loopback.
	return Endpoint{Name: name, URL: url, Secret: testSecret, Timeout: 2 * time.Second, AllowPrivate: true}
}

func newTestDispatcher(t testing.TB, s Store, clock *fakeClock, eps ...Endpoint) *Dispatcher {
	t.Helper()
	d, err := NewDispatcher(s, eps, DispatcherOptions{Now: clock.Now, Rand: func() float64 { return 0.5 }})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func process(t testing.TB, d *Dispatcher) int {
	t.Helper()
	n, err := d.ProcessDue(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func fileLeads(t testing.TB, s Store, n int) []string {
	var ids []string
	for i := range n {
		ids = append(ids, mustFile(t, s, post(fmt.Sprintf("https://x.test/%d", i), "fire", "", uint64(i+1)*0x0101010101010101)).LeadID)
	}
	return ids
}

func TestReceiverDownThenUp(t *testing.T) {
	clock := newClock()
	rc := newReceiver(t)
	ep := endpoint("case", rc.srv.URL)
	s, _ := openTestStore(t, Options{Now: clock.Now, Endpoints: []Endpoint{ep}})
	d := newTestDispatcher(t, s, clock, ep)
	leads := fileLeads(t, s, 5)

	rc.set(down)
	if n := process(t, d); n != 5 {
		t.Fatalf("%d attempts, want 5", n)
	}
	if n := process(t, d); n != 0 {
		t.Fatalf("retries ran before their backoff: %d", n)
	}
	clock.Advance(time.Hour)
	if n := process(t, d); n != 5 {
		t.Fatalf("%d second attempts, want 5", n)
	}
	rc.set(nil)
	clock.Advance(3 * time.Hour)
	if n := process(t, d); n != 5 {
		t.Fatalf("%d third attempts, want 5", n)
	}

	ds, total, err := s.Deliveries(t.Context(), DeliveryFilter{})
	if err != nil || total != 5 {
		t.Fatalf("deliveries: %d %v", total, err)
	}
	byID := map[string]int{}
	for _, r := range rc.requests() {
		byID[r.id]++
	}
	gotLeads := map[string]bool{}
	for _, del := range ds {
		if del.State != DeliveryDelivered || del.Attempts != 3 {
			t.Fatalf("delivery %s: %s after %d attempts", del.ID, del.State, del.Attempts)
		}
		if byID[del.ID] != 3 {
			t.Fatalf("webhook-id %s seen %d times, want the same id on all 3 attempts", del.ID, byID[del.ID])
		}
		gotLeads[del.LeadID] = true
		as, err := s.Attempts(t.Context(), del.ID)
		if err != nil || len(as) != 3 || as[0].Outcome != "retry" || as[0].Status != 0 || as[0].Error == "" || as[2].Outcome != "delivered" || as[2].Status != 200 {
			t.Fatalf("attempt log %+v %v", as, err)
		}
	}
	for _, id := range leads {
		if !gotLeads[id] {
			t.Fatalf("lead %s never delivered", id)
		}
	}
	if len(byID) != 5 {
		t.Fatalf("%d distinct webhook-ids, want 5", len(byID))
	}
}

func TestRunDeliversEverything(t *testing.T) {
	rc := newReceiver(t)
	ep := endpoint("case", rc.srv.URL)
	s, _ := openTestStore(t, Options{Endpoints: []Endpoint{ep}})
	d, err := NewDispatcher(s, []Endpoint{ep}, DispatcherOptions{PollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- d.Run(ctx) }()
	fileLeads(t, s, 30)
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, n, err := s.Deliveries(t.Context(), DeliveryFilter{State: DeliveryDelivered})
		if err != nil {
			t.Fatal(err)
		}
		if n == 30 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of 30 delivered", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range rc.requests() {
		seen[r.id] = true
	}
	if len(seen) != 30 {
		t.Fatalf("receiver saw %d ids, want 30", len(seen))
	}
}

func TestGoneDisablesEndpoint(t *testing.T) {
	clock := newClock()
	gone, ok := newReceiver(t), newReceiver(t)
	gone.set(status(http.StatusGone))
	eps := []Endpoint{endpoint("gone", gone.srv.URL), endpoint("ok", ok.srv.URL)}
	s, _ := openTestStore(t, Options{Now: clock.Now, Endpoints: eps})
	d := newTestDispatcher(t, s, clock, eps...)
	fileLeads(t, s, 1)
	process(t, d)
	dis, err := s.DisabledEndpoints(t.Context())
	if err != nil || dis["gone"] == "" {
		t.Fatalf("gone endpoint not disabled: %v %v", dis, err)
	}
	sent := len(gone.requests())
	mustFile(t, s, post("https://later.test", "fraud", "", 0x7777777777777777))
	process(t, d)
	if len(gone.requests()) != sent {
		t.Fatal("a disabled endpoint got another request")
	}
	if _, n, _ := s.Deliveries(t.Context(), DeliveryFilter{Endpoint: "ok", State: DeliveryDelivered}); n != 2 {
		t.Fatalf("the other endpoint got %d deliveries, want 2", n)
	}
	dead, n, _ := s.Deliveries(t.Context(), DeliveryFilter{Endpoint: "gone", State: DeliveryDead})
	if n != 2 {
		t.Fatalf("%d dead deliveries for gone, want 2", n)
	}
	if err := s.Replay(t.Context(), dead[0].ID); !errors.Is(err, ErrInvalid) {
		t.Fatalf("replay to a disabled endpoint: %v", err)
	}
	if err := s.EnableEndpoint(t.Context(), "gone"); err != nil {
		t.Fatal(err)
	}
	gone.set(nil)
	if err := d.Replay(t.Context(), dead[0].ID); err != nil {
		t.Fatal(err)
	}
	if process(t, d) != 1 {
		t.Fatal("replay not attempted")
	}
	if reqs := gone.requests(); reqs[len(reqs)-1].id != dead[0].ID {
		t.Fatal("replay did not keep the webhook-id")
	}
}

func TestClientErrorIsDeadAtOnceAndReplayable(t *testing.T) {
	clock := newClock()
	rc := newReceiver(t)
	rc.set(status(http.StatusBadRequest))
	ep := endpoint("case", rc.srv.URL)
	s, _ := openTestStore(t, Options{Now: clock.Now, Endpoints: []Endpoint{ep}})
	d := newTestDispatcher(t, s, clock, ep)
	fileLeads(t, s, 1)
	process(t, d)
	clock.Advance(48 * time.Hour)
	process(t, d)
	ds, _, _ := s.Deliveries(t.Context(), DeliveryFilter{})
	if len(ds) != 1 || ds[0].State != DeliveryDead || ds[0].Attempts != 1 || ds[0].LastStatus != 400 || len(rc.requests()) != 1 {
		t.Fatalf("400: %+v, %d requests", ds, len(rc.requests()))
	}
	rc.set(nil)
	if err := d.Replay(t.Context(), ds[0].ID); err != nil {
		t.Fatal(err)
	}
	rec, err := d.DeliverNow(t.Context(), ds[0].ID)
	if err != nil || rec.Outcome != "delivered" {
		t.Fatalf("deliver now: %+v %v", rec, err)
	}
	if reqs := rc.requests(); len(reqs) != 2 || reqs[1].id != ds[0].ID {
		t.Fatal("replayed delivery changed its webhook-id")
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	clock := newClock()
	rc := newReceiver(t)
	ep := endpoint("case", rc.srv.URL)
	s, _ := openTestStore(t, Options{Now: clock.Now, Endpoints: []Endpoint{ep}})
	d := newTestDispatcher(t, s, clock, ep)
	fileLeads(t, s, 1)

	rc.set(status(http.StatusTooManyRequests, "Retry-After", "600"))
	process(t, d)
	ds, _, _ := s.Deliveries(t.Context(), DeliveryFilter{})
	if ds[0].NextAttemptAt == nil || !ds[0].NextAttemptAt.Equal(clock.Now().Add(600*time.Second)) {
		t.Fatalf("429 Retry-After 600: next attempt %v, want %v", ds[0].NextAttemptAt, clock.Now().Add(600*time.Second))
	}
	clock.Advance(599 * time.Second)
	if process(t, d) != 0 {
		t.Fatal("retried before Retry-After")
	}
	clock.Advance(time.Second)
	date := clock.Now().Add(2 * time.Hour).Format(http.TimeFormat)
	rc.set(status(http.StatusServiceUnavailable, "Retry-After", date))
	if process(t, d) != 1 {
		t.Fatal("not retried when Retry-After passed")
	}
	ds, _, _ = s.Deliveries(t.Context(), DeliveryFilter{})
	if !ds[0].NextAttemptAt.Equal(clock.Now().Add(2 * time.Hour)) {
		t.Fatalf("503 Retry-After date: next attempt %v", ds[0].NextAttemptAt)
	}
	rc.set(nil)
	clock.Advance(2 * time.Hour)
	process(t, d)
	ds, _, _ = s.Deliveries(t.Context(), DeliveryFilter{})
	if ds[0].State != DeliveryDelivered || ds[0].Attempts != 3 {
		t.Fatalf("%+v", ds[0])
	}
}

// retryWaits fails every attempt of one delivery and returns the waits the
// dispatcher scheduled between them, until the delivery dies.
func retryWaits(t *testing.T, ep Endpoint, rand float64) ([]time.Duration, Delivery) {
	t.Helper()
	clock := newClock()
	rc := newReceiver(t)
	rc.set(status(http.StatusServiceUnavailable))
	ep.URL = rc.srv.URL
	s, _ := openTestStore(t, Options{Now: clock.Now, Endpoints: []Endpoint{ep}})
	d, err := NewDispatcher(s, []Endpoint{ep}, DispatcherOptions{Now: clock.Now, Rand: func() float64 { return rand }})
	if err != nil {
		t.Fatal(err)
	}
	fileLeads(t, s, 1)
	var waits []time.Duration
	for range 100 {
		if process(t, d) != 1 {
			t.Fatal("attempt not made when due")
		}
		ds, _, _ := s.Deliveries(t.Context(), DeliveryFilter{})
		if ds[0].State != DeliveryPending {
			return waits, ds[0]
		}
		w := ds[0].NextAttemptAt.Sub(clock.Now())
		waits = append(waits, w)
		clock.Advance(w)
	}
	t.Fatal("delivery never died")
	return nil, Delivery{}
}

func TestRetryScheduleIsStandardWebhooks(t *testing.T) {
	want := []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour}
	// With jitter at its midpoint the waits are the schedule itself.
	waits, dead := retryWaits(t, endpoint("case", ""), 0.5)
	if !slices.Equal(waits, want) {
		t.Fatalf("waits %v, want %v", waits, want)
	}
	if dead.State != DeliveryDead || dead.Attempts != DefaultMaxAttempts || !strings.Contains(dead.LastError, "gave up after 8 attempts") {
		t.Fatalf("dead letter: %+v", dead)
	}
	var total time.Duration
	for _, w := range waits {
		total += w
	}
	if total < 20*time.Hour || total > 36*time.Hour {
		t.Fatalf("the schedule spans %v, want about a day", total)
	}
}

func TestRetryJitterKeepsFirstRetryWithinTenSeconds(t *testing.T) {
	for _, r := range []float64{0, 0.999999} {
		waits, _ := retryWaits(t, endpoint("case", ""), r)
		if waits[0] <= 0 || waits[0] > 10*time.Second {
			t.Fatalf("rand %v: first retry after %v, want within 10s", r, waits[0])
		}
	}
}

func TestRetryScheduleRepeatsLastStepAndStopsAtMaxAttempts(t *testing.T) {
	ep := endpoint("case", "")
	ep.MaxAttempts = 10
	waits, dead := retryWaits(t, ep, 0.5)
	if len(waits) != 9 || waits[7] != 10*time.Hour || waits[8] != 10*time.Hour {
		t.Fatalf("waits %v", waits)
	}
	if dead.Attempts != 10 {
		t.Fatalf("dead after %d attempts, want 10", dead.Attempts)
	}
	ep.MaxAttempts = 3
	waits, dead = retryWaits(t, ep, 0.5)
	if !slices.Equal(waits, []time.Duration{5 * time.Second, 5 * time.Minute}) || dead.Attempts != 3 || !strings.Contains(dead.LastError, "gave up after 3 attempts") {
		t.Fatalf("waits %v, dead %+v", waits, dead)
	}
}

func TestLeaseExpiryRedeliversAfterCrash(t *testing.T) {
	clock := newClock()
	rc := newReceiver(t)
	ep := endpoint("case", rc.srv.URL)
	s, path := openTestStore(t, Options{Now: clock.Now, Endpoints: []Endpoint{ep}})
	fileLeads(t, s, 1)
	// A dispatcher claims the row and dies before sending or recording.
	claimed, err := s.ClaimDeliveries(t.Context(), ClaimRequest{Now: clock.Now(), Limit: 10, Lease: 30 * time.Second})
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim: %v %v", claimed, err)
	}
	s.Close()

	s2, err := OpenSQLite(path, Options{Now: clock.Now, Endpoints: []Endpoint{ep}})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	d := newTestDispatcher(t, s2, clock, ep)
	if process(t, d) != 0 {
		t.Fatal("a leased row was taken before its lease ran out")
	}
	clock.Advance(31 * time.Second)
	if process(t, d) != 1 {
		t.Fatal("the row was not retried after the lease ran out")
	}
	if reqs := rc.requests(); len(reqs) != 1 || reqs[0].id != claimed[0].ID {
		t.Fatalf("receiver got %v, want the claimed id %s", reqs, claimed[0].ID)
	}
}

// TestHelperDispatchProcess is the child of TestKilledDispatcherDeliversAfterRestart.
func TestHelperDispatchProcess(t *testing.T) {
	path := os.Getenv("ALERTS_HELPER_DB")
	if path == "" {
		t.Skip("helper process only")
	}
	ep := endpoint("case", os.Getenv("ALERTS_HELPER_URL"))
	ep.Timeout = time.Second
	s, err := OpenSQLite(path, Options{Endpoints: []Endpoint{ep}})
	if err != nil {
		t.Fatal(err)
	}
	d, err := NewDispatcher(s, []Endpoint{ep}, DispatcherOptions{LeaseMargin: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	d.Run(context.Background()) // runs until killed
}

func TestKilledDispatcherDeliversAfterRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a subprocess")
	}
	arrived := make(chan string, 10)
	release := make(chan struct{})
	var mu sync.Mutex
	var ids []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := checkSignature(testSecret, r.Header, body); err != nil {
			t.Errorf("bad signature: %v", err)
		}
		mu.Lock()
		ids = append(ids, r.Header.Get("webhook-id"))
		first := len(ids) == 1
		mu.Unlock()
		if first {
			arrived <- r.Header.Get("webhook-id")
			<-release // hang until the child is dead
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	defer close(release)
	ep := endpoint("case", srv.URL)
	ep.Timeout = time.Second
	s, path := openTestStore(t, Options{Endpoints: []Endpoint{ep}})
	fileLeads(t, s, 1)

	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^TestHelperDispatchProcess$")
	cmd.Env = append(os.Environ(), "ALERTS_HELPER_DB="+path, "ALERTS_HELPER_URL="+srv.URL)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var firstID string
	select {
	case firstID = <-arrived:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatal("child never delivered")
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL mid-request
		t.Fatal(err)
	}
	cmd.Wait()
	ds, _, _ := s.Deliveries(t.Context(), DeliveryFilter{})
	if ds[0].State != DeliveryPending {
		t.Fatalf("after the kill the delivery is %s, want pending", ds[0].State)
	}
	d, err := NewDispatcher(s, []Endpoint{ep}, DispatcherOptions{LeaseMargin: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := d.ProcessDue(t.Context()); err != nil {
			t.Fatal(err)
		}
		ds, _, _ = s.Deliveries(t.Context(), DeliveryFilter{})
		if ds[0].State == DeliveryDelivered {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not delivered after restart: %+v", ds[0])
		}
		time.Sleep(100 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(ids) != 2 || ids[0] != firstID || ids[1] != firstID {
		t.Fatalf("webhook-ids %v, want the same id twice", ids)
	}
}

func TestTheHiveFormat(t *testing.T) {
	clock := newClock()
	rc := newReceiver(t)
	ep := endpoint("hive", rc.srv.URL)
	ep.Format = "thehive"
	ep.Events = []string{EventLeadCreated}
	s, _ := openTestStore(t, Options{Now: clock.Now, Endpoints: []Endpoint{ep}})
	d := newTestDispatcher(t, s, clock, ep)
	c := post("https://a.test/1", "fire", "350105001", 1)
	c.LevelCues = []LevelCue{{Kind: "spreading", Level: "high", Field: "text", Text: "火势蔓延", Start: 3, End: 7},
		{Kind: "many_people", Field: "text", Text: "十几人", Start: 9, End: 12}}
	id := mustFile(t, s, c).LeadID
	if _, err := s.Transition(t.Context(), id, TransitionRequest{To: StateConfirmed}); err != nil {
		t.Fatal(err)
	}
	process(t, d)
	reqs := rc.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1 (created only)", len(reqs))
	}
	var a struct {
		Type, Source, SourceRef, Title, Description string
		Severity                                    int
		Date                                        int64
		Tags                                        []string
	}
	if err := json.Unmarshal(reqs[0].body, &a); err != nil {
		t.Fatal(err)
	}
	if a.SourceRef != id || a.Source != "riskmine" || a.Severity != 3 || a.Date != clock.Now().UnixMilli() || a.Title == "" ||
		!contains(a.Tags, "category:fire") || !contains(a.Tags, "location:350105001") || !strings.Contains(a.Description, "https://a.test/1") ||
		!strings.Contains(a.Description, "Why high: spreading 「火势蔓延」\n") {
		t.Fatalf("thehive alert %+v", a)
	}
}

func TestSendTestAndVerify(t *testing.T) {
	clock := newClock()
	rc := newReceiver(t)
	rc.set(func(w http.ResponseWriter, r *http.Request) bool {
		w.Header().Set("X-Receiver", "case-centre")
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, `{"ok":true}`)
		return true
	})
	ep := endpoint("case", rc.srv.URL)
	s, _ := openTestStore(t, Options{Now: clock.Now})
	d := newTestDispatcher(t, s, clock, ep)
	res, err := d.SendTest(t.Context(), "case")
	if err != nil || res.Status != 202 || res.Header.Get("X-Receiver") != "case-centre" {
		t.Fatalf("send test: %+v %v", res, err)
	}
	got := rc.requests()[0]
	if got.id != res.ID || !strings.Contains(string(got.body), `"type":"risk_lead.test"`) {
		t.Fatalf("test event %s %s", got.id, got.body)
	}
	if _, err := d.SendTest(t.Context(), "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown endpoint: %v", err)
	}
	// Verify agrees with the independent check, and rejects tampering.
	h := http.Header{}
	h.Set("webhook-id", got.id)
	h.Set("webhook-timestamp", got.ts)
	key, _ := ParseSecret(testSecret)
	ts, _ := strconv.ParseInt(got.ts, 10, 64)
	h.Set("webhook-signature", "v1,bogus "+Sign(key, got.id, ts, got.body))
	if err := checkSignature(testSecret, h, got.body); err != nil {
		t.Fatal(err)
	}
	if err := Verify(testSecret, got.id, got.ts, got.body, h.Get("webhook-signature"), clock.Now(), 5*time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := Verify(testSecret, got.id, got.ts, append(got.body, ' '), h.Get("webhook-signature"), clock.Now(), 0); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("tampered body: %v", err)
	}
	if err := Verify(testSecret, got.id, got.ts, got.body, h.Get("webhook-signature"), clock.Now().Add(time.Hour), 5*time.Minute); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("old timestamp: %v", err)
	}
	if _, err := NewDispatcher(s, []Endpoint{{Name: "bad", URL: "http://127.0.0.1:1", Secret: "whsec_!!!"}}, DispatcherOptions{}); err == nil {
		t.Fatal("bad secret accepted")
	}
}

func TestHangingEndpointDoesNotStarveOthers(t *testing.T) {
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	fast := newReceiver(t)
	slowEp := endpoint("slow", slow.URL)
	slowEp.Timeout = 30 * time.Second
	eps := []Endpoint{slowEp, endpoint("fast", fast.srv.URL), endpoint("removed-later", fast.srv.URL)}
	s, _ := openTestStore(t, Options{Endpoints: eps})
	fileLeads(t, s, 20)
	// The dispatcher no longer knows "removed-later": its rows die.
	d, err := NewDispatcher(s, eps[:2], DispatcherOptions{PollInterval: 50 * time.Millisecond, ShutdownGrace: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- d.Run(ctx) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, delivered, _ := s.Deliveries(t.Context(), DeliveryFilter{Endpoint: "fast", State: DeliveryDelivered})
		_, dead, _ := s.Deliveries(t.Context(), DeliveryFilter{Endpoint: "removed-later", State: DeliveryDead})
		if delivered == 20 && dead == 20 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("with a hanging endpoint: %d of 20 delivered to the fast one, %d of 20 unconfigured dead", delivered, dead)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, n, _ := s.Deliveries(t.Context(), DeliveryFilter{Endpoint: "slow", State: DeliveryPending}); n != 20 {
		t.Fatalf("slow endpoint: %d pending, want 20 (in flight)", n)
	}
	// Shutting down with requests hanging ends within the grace period;
	// what was cut short stays pending for the next run.
	stopped := time.Now()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(stopped); waited > 20*time.Second {
		t.Fatalf("shutdown took %v with a 0.5s grace", waited)
	}
	close(release)
	if _, n, _ := s.Deliveries(t.Context(), DeliveryFilter{Endpoint: "slow", State: DeliveryPending}); n != 20 {
		t.Fatalf("after shutdown the slow endpoint has %d pending, want 20", n)
	}
	if _, n, _ := s.Deliveries(t.Context(), DeliveryFilter{Endpoint: "slow", State: DeliveryDead}); n != 0 {
		t.Fatalf("shutdown killed %d deliveries", n)
	}
}

// TestDeliveriesKeepTheSSRFGuard: a webhook without allow_private reaches no
// loopback, private, unspecified or metadata address, however written, and
// metadata stays refused with allow_private; a refused delivery is dead at
// once with the reason, and "send test" is refused the same way.
func TestDeliveriesKeepTheSSRFGuard(t *testing.T) {
	rc := newReceiver(t)
	port := rc.srv.URL[strings.LastIndex(rc.srv.URL, ":")+1:]
	cases := []struct {
		url          string
		allowPrivate bool
		reason       string
	}{
		{"http://127.0.0.1:" + port + "/hook", false, "loopback"},
		{"http://localhost:" + port + "/hook", false, "loopback"},
		{"http://[::ffff:127.0.0.1]:" + port + "/hook", false, "loopback"},
		{"http://[::1]:" + port + "/hook", false, "loopback"},
		{"http://0.0.0.0:" + port + "/hook", false, "unspecified"},
		{"http://10.11.12.13/hook", false, "private"},
		{"http://169.254.169.254/latest/meta-data/", false, "metadata"},
		{"http://169.254.169.254/latest/meta-data/", true, "metadata"},
		{"http://[::ffff:a9fe:a9fe]/", true, "metadata"},
		{"http://100.100.100.200/", true, "metadata"},
	}
	for i, c := range cases {
		clock := newClock()
		ep := Endpoint{Name: "case", URL: c.url, Secret: testSecret, Timeout: 2 * time.Second, AllowPrivate: c.allowPrivate}
		s, _ := openTestStore(t, Options{Now: clock.Now, Endpoints: []Endpoint{ep}})
		d := newTestDispatcher(t, s, clock, ep)
		fileLeads(t, s, 1)
		process(t, d)
		ds, _, _ := s.Deliveries(t.Context(), DeliveryFilter{})
		if len(ds) != 1 || ds[0].State != DeliveryDead || ds[0].Attempts != 1 {
			t.Errorf("%d %s: %+v", i, c.url, ds)
		}
		as, _ := s.Attempts(t.Context(), ds[0].ID)
		if len(as) != 1 || !strings.Contains(as[0].Error, "SSRF guard") || !strings.Contains(as[0].Error, c.reason) {
			t.Errorf("%d %s: attempts %+v", i, c.url, as)
		}
		if _, err := d.SendTest(t.Context(), "case"); err == nil || !strings.Contains(err.Error(), c.reason) {
			t.Errorf("%d %s: send test: %v", i, c.url, err)
		}
	}
	if n := len(rc.requests()); n != 0 {
		t.Errorf("the receiver on loopback got %d requests", n)
	}
	// allow_private reaches it.
	clock := newClock()
	ep := Endpoint{Name: "case", URL: "http://localhost:" + port + "/hook", Secret: testSecret, Timeout: 2 * time.Second, AllowPrivate: true}
	s, _ := openTestStore(t, Options{Now: clock.Now, Endpoints: []Endpoint{ep}})
	d := newTestDispatcher(t, s, clock, ep)
	if res, err := d.SendTest(t.Context(), "case"); err != nil || res.Status != http.StatusOK {
		t.Errorf("allow_private send test: %+v %v", res, err)
	}
}
