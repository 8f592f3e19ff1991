package alerts

import (
	"strconv"
	"testing"
)

func TestSubscribeLeadsSeesCreatedLeadsOnly(t *testing.T) {
	s, _ := openTestStore(t, Options{})
	ch, cancel := s.SubscribeLeads()
	other, cancelOther := s.SubscribeLeads()
	id := mustFile(t, s, post("https://a.test/1", "fire", "350105001", 7, "仓库")).LeadID
	select {
	case ev := <-ch:
		if ev.ID != id || ev.Level != "high" || ev.Category != "fire" || ev.Title == "" {
			t.Fatalf("event %+v for lead %s", ev, id)
		}
	default:
		t.Fatal("no event after the lead was filed")
	}
	// A post joining the lead and a duplicate create nothing.
	if res := mustFile(t, s, post("https://a.test/2", "fire", "350105001", 7, "仓库")); res.Outcome != OutcomeJoined {
		t.Fatalf("second post: %s", res.Outcome)
	}
	mustFile(t, s, post("https://a.test/1", "fire", "350105001", 7, "仓库"))
	select {
	case ev := <-ch:
		t.Fatalf("event %+v for a joined or duplicate post", ev)
	default:
	}
	cancel()
	if _, ok := <-ch; ok {
		t.Fatal("cancel left the channel open")
	}
	cancel() // twice is harmless
	// The other subscriber got the event too; closing the store ends it.
	if ev := <-other; ev.ID != id {
		t.Fatalf("other subscriber: %+v", ev)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := <-other; ok {
		t.Fatal("closing the store left a subscription open")
	}
	cancelOther()
	if _, ok := <-func() <-chan LeadEvent { c, _ := s.SubscribeLeads(); return c }(); ok {
		t.Fatal("a subscription after close is open")
	}
}

func TestSlowSubscriberDoesNotBlockFiling(t *testing.T) {
	s, _ := openTestStore(t, Options{})
	_, cancel := s.SubscribeLeads() // never read
	defer cancel()
	for i := range leadEventBuffer + 5 {
		mustFile(t, s, post("https://x.test/"+strconv.Itoa(i), "fraud", "", uint64(i+1)*0x9E3779B97F4A7C15))
	}
}
