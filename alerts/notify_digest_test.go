package alerts

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// TestRateLimitFoldsIntoDigest files 25 leads for a WeCom robot that may
// take 5 messages a minute. The first round sends 4 alone and a digest of
// the 12 others it claimed (the claim takes 16); the rest wait for the
// window and go a minute later, 4 alone and a digest of 5. Every delivery
// ends delivered, the folded ones marked delivered_by_digest with the
// digest's id, and each digest links every lead it carries.
func TestRateLimitFoldsIntoDigest(t *testing.T) {
	clock := &fakeClock{t: time.Now().Truncate(time.Millisecond)}
	rb := newRobot(t, FormatWeCom, "")
	ep := rb.endpoint("wx", "")
	ep.RateLimit = 5
	s, _ := openTestStore(t, Options{Now: clock.Now, Endpoints: []Endpoint{ep}})
	d := notifyDispatcher(t, s, clock, ep)
	rng := rand.New(rand.NewPCG(1, 2))
	var leads []string
	for i := range 25 {
		leads = append(leads, mustFile(t, s, post(fmt.Sprintf("https://x.test/%d", i), "fire", "", rng.Uint64(), fmt.Sprintf("词%d", i))).LeadID)
	}
	if n := process(t, d); n != 16 {
		t.Fatalf("first round: %d attempts, want the 16 claimed", n)
	}
	if n := process(t, d); n != 0 {
		t.Fatalf("%d attempts with the window full", n)
	}
	msgs := rb.messages()
	if len(msgs) != 5 {
		t.Fatalf("first round: %d messages, want 5 (4 alone and a digest)", len(msgs))
	}
	checkDigest(t, msgs, 12)

	clock.Advance(59 * time.Second)
	if n := process(t, d); n != 0 {
		t.Fatalf("%d attempts before the window moved", n)
	}
	clock.Advance(time.Second)
	if n := process(t, d); n != 9 {
		t.Fatalf("second round: %d attempts, want 9", n)
	}
	msgs = rb.messages()
	if len(msgs) != 10 {
		t.Fatalf("%d messages in all, want 10", len(msgs))
	}
	checkDigest(t, msgs[5:], 5)

	ds, total, err := s.Deliveries(t.Context(), DeliveryFilter{Limit: 100})
	if err != nil || total != 25 {
		t.Fatalf("deliveries: %d %v", total, err)
	}
	linked := strings.Join([]string{msgs[0].text, msgs[1].text, msgs[2].text, msgs[3].text, msgs[4].text,
		msgs[5].text, msgs[6].text, msgs[7].text, msgs[8].text, msgs[9].text}, "\n")
	byDigest := 0
	for _, del := range ds {
		if del.State != DeliveryDelivered {
			t.Fatalf("delivery %s", show(del))
		}
		if !strings.Contains(linked, testPublicURL+"/leads/"+del.LeadID+")") {
			t.Errorf("lead %s is in no message", del.LeadID)
		}
		as, err := s.Attempts(t.Context(), del.ID)
		if err != nil || len(as) != 1 {
			t.Fatalf("attempts %+v %v", as, err)
		}
		switch as[0].Outcome {
		case outcomeDigest:
			byDigest++
			if !strings.HasPrefix(del.LastError, "sent in digest msg_") || as[0].Error != del.LastError {
				t.Errorf("digest delivery %s: last_error %q, attempt %+v", del.ID, del.LastError, as[0])
			}
		case outcomeDelivered:
			if del.LastError != "" {
				t.Errorf("delivery %s sent alone has last_error %q", del.ID, del.LastError)
			}
		default:
			t.Errorf("attempt %+v", as[0])
		}
	}
	if byDigest != 17 {
		t.Fatalf("%d deliveries went by digest, want 12 + 5", byDigest)
	}
	if len(leads) != 25 {
		t.Fatal(len(leads))
	}
}

// checkDigest finds the one digest among a round's messages (they are
// sent concurrently, in no set order) and checks it carries n leads.
func checkDigest(t *testing.T, msgs []robotMsg, n int) {
	t.Helper()
	checkDigestN(t, msgs, n, 5)
}

func checkDigestN(t *testing.T, msgs []robotMsg, n, perMinute int) {
	t.Helper()
	var digests []string
	for _, m := range msgs {
		if strings.Contains(m.text, "条线索") {
			digests = append(digests, m.text)
		}
	}
	if len(digests) != 1 {
		t.Fatalf("%d digests among %d messages", len(digests), len(msgs))
	}
	text := digests[0]
	if !strings.Contains(text, fmt.Sprintf("另有 %d 条线索", n)) || !strings.Contains(text, fmt.Sprintf("超出每分钟 %d 条", perMinute)) {
		t.Fatalf("digest heading:\n%s", text)
	}
	if got := strings.Count(text, "[查看]("+testPublicURL+"/leads/"); got != n {
		t.Fatalf("digest has %d lead links, want %d:\n%s", got, n, text)
	}
}

// TestDigestKeepsUnderTheSizeLimit: a digest of more leads than fit in a
// WeCom message (4096 bytes) lists what fits, counts the rest and links
// the lead list.
func TestDigestKeepsUnderTheSizeLimit(t *testing.T) {
	var leads []*Lead
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	for i := range 60 {
		leads = append(leads, &Lead{ID: fmt.Sprintf("01LEAD%020d", i), Title: strings.Repeat("长标题", 20), Level: "high",
			Categories: []CategoryScore{{Code: "fire", Score: 1}}, Locations: []Location{{Code: "350105", Name: "福建省/福州市/马尾区"}},
			FirstSeen: now, LastSeen: now})
	}
	// The same lead queued twice (created, then updated) is listed once,
	// first, as it was last.
	updated := *leads[0]
	updated.Title = "已更新的标题"
	leads = append(leads, &updated)
	m := digestMessage(leads, defaultLocation(), testPublicURL, 20)
	text := m.markdown()
	if len(text) > 4096 {
		t.Fatalf("digest is %d bytes", len(text))
	}
	listed := strings.Count(text, "[查看]("+testPublicURL+"/leads/")
	if listed < 10 || listed >= 60 || !strings.Contains(text, "另有 60 条线索") ||
		!strings.Contains(text, fmt.Sprintf("以及其余 %d 条", 60-listed)) || !strings.Contains(text, "[线索列表]("+testPublicURL+"/leads)") {
		t.Fatalf("%d listed:\n%s", listed, text)
	}
	if !strings.Contains(text, "1. 高 · 火灾 · 福建省/福州市/马尾区 · 03-02 17:00 · 已更新的标题 [查看]("+testPublicURL+"/leads/"+leads[0].ID+")") {
		t.Fatalf("the lead queued twice is not first as it was last:\n%s", text)
	}
	// Without web.public_url the lead ids stand in for the links.
	text = digestMessage(leads[:3], defaultLocation(), "", 20).markdown()
	if strings.Contains(text, "](") || !strings.Contains(text, leads[2].ID) {
		t.Fatalf("digest without public_url:\n%s", text)
	}
}

// TestRateWindow pins the sliding window: limit messages in any minute,
// the next slot when the oldest leaves, and a block that outlasts it.
func TestRateWindow(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	w := &rateWindow{limit: 3}
	w.take(t0, 2)
	w.take(t0.Add(10*time.Second), 1)
	if f := w.free(t0.Add(30 * time.Second)); f != 0 {
		t.Fatalf("free %d, want 0", f)
	}
	if n := w.next(t0.Add(30 * time.Second)); !n.Equal(t0.Add(time.Minute)) {
		t.Fatalf("next %v", n)
	}
	if f := w.free(t0.Add(time.Minute)); f != 2 {
		t.Fatalf("free %d after a minute, want 2", f)
	}
	w.block(t0.Add(10 * time.Minute))
	if f := w.free(t0.Add(2 * time.Minute)); f != 0 {
		t.Fatalf("free %d while blocked", f)
	}
	if n := w.next(t0.Add(2 * time.Minute)); !n.Equal(t0.Add(10 * time.Minute)) {
		t.Fatalf("next %v while blocked", n)
	}
}

// TestRunKeepsTheRate runs the dispatcher's loop for a robot that takes 3
// messages a minute: 10 leads queued before it starts go as 2 messages and
// a digest of 8; 2 more wait until the clock passes the minute, then go
// one by one.
func TestRunKeepsTheRate(t *testing.T) {
	clock := &fakeClock{t: time.Now().Truncate(time.Millisecond)}
	rb := newRobot(t, FormatWeCom, "")
	ep := rb.endpoint("wx", "")
	ep.RateLimit = 3
	s, _ := openTestStore(t, Options{Now: clock.Now, Endpoints: []Endpoint{ep}})
	d, err := NewDispatcher(s, []Endpoint{ep}, DispatcherOptions{Now: clock.Now, PollInterval: 20 * time.Millisecond, PublicURL: testPublicURL})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	file := func(from, to int) {
		for i := from; i < to; i++ {
			mustFile(t, s, post(fmt.Sprintf("https://x.test/%d", i), "fire", "", rng.Uint64(), fmt.Sprintf("词%d", i)))
		}
	}
	waitDelivered := func(n int) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			_, got, err := s.Deliveries(t.Context(), DeliveryFilter{State: DeliveryDelivered})
			if err != nil {
				t.Fatal(err)
			}
			if got == n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d of %d delivered", got, n)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	file(0, 10)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- d.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	waitDelivered(10)
	if msgs := rb.messages(); len(msgs) != 3 {
		t.Fatalf("%d messages for 10 leads, want 3", len(msgs))
	} else {
		checkDigestN(t, msgs, 8, 3)
	}
	file(10, 12)
	// The window is full: give the loop a few polls to prove it waits.
	time.Sleep(100 * time.Millisecond)
	if n := len(rb.messages()); n != 3 {
		t.Fatalf("%d messages sent inside the full minute", n)
	}
	clock.Advance(time.Minute)
	waitDelivered(12)
	if n := len(rb.messages()); n != 5 {
		t.Fatalf("%d messages in all, want 5", n)
	}
}
