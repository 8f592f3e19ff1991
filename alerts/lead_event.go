package alerts

import "sync"

// LeadEvent tells a subscriber that a lead was filed. It carries what a
// notice needs; the lead itself is read from the store.
type LeadEvent struct {
	ID       string `json:"id"`
	Level    string `json:"level"`
	Category string `json:"category"`
	Title    string `json:"title"`
}

// leadEventBuffer is how many events a slow subscriber may have pending
// before further ones are dropped for it: a notice may miss a lead, filing
// never waits for a reader.
const leadEventBuffer = 64

// LeadHub fans new-lead events out to the subscribers in this process. A
// backend whose leads are filed by several nodes publishes into it what
// it hears from the database (alerts/pgstore: LISTEN/NOTIFY). The zero
// value is ready to use.
type LeadHub struct {
	mu     sync.Mutex
	subs   map[chan LeadEvent]struct{}
	closed bool
}

// Subscribe adds a subscriber; cancel removes it and closes its channel.
// After Close it returns a closed channel.
func (h *LeadHub) Subscribe() (<-chan LeadEvent, func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	ch := make(chan LeadEvent, leadEventBuffer)
	if h.closed {
		close(ch)
		return ch, func() {}
	}
	if h.subs == nil {
		h.subs = map[chan LeadEvent]struct{}{}
	}
	h.subs[ch] = struct{}{}
	return ch, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if _, ok := h.subs[ch]; ok {
			delete(h.subs, ch)
			close(ch)
		}
	}
}

// Publish sends events to every subscriber without blocking: a
// subscriber leadEventBuffer behind misses them.
func (h *LeadHub) Publish(evs ...LeadEvent) {
	if len(evs) == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		for _, ev := range evs {
			select {
			case ch <- ev:
			default:
			}
		}
	}
}

// Close ends every subscription (their channels close) and refuses new ones.
func (h *LeadHub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		close(ch)
	}
	h.subs, h.closed = nil, true
}

// SubscribeLeads returns a channel that receives an event for every lead
// created from now on (filed posts and burst leads), after its transaction
// commits, and a cancel function that ends the subscription. Events are
// dropped for a subscriber that falls leadEventBuffer behind. The channel
// is closed by cancel or when the store closes.
func (s *SQLStore) SubscribeLeads() (<-chan LeadEvent, func()) { return s.leadEvents.Subscribe() }

// LeadEventOf is the event of l's creation.
func LeadEventOf(l *Lead) LeadEvent {
	return LeadEvent{ID: l.ID, Level: l.Level, Category: l.TopCategory(), Title: l.Title}
}
