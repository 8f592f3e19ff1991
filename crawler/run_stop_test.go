package crawler

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// An emit error wrapping ErrStopRun ends the run: the run fails with it,
// the history keeps its message, and no page it refused has a state, so
// the next run hands them all on.
func TestEmitStopsRun(t *testing.T) {
	c, _ := newTestCrawler(t, nil)
	site := listSite(t, 5, "", nil)
	src := htmlSource("stop", site.srv, "/list")
	src.Parallelism = 1
	var emitted atomic.Int64
	full := fmt.Errorf("%w: data folder /srv/data: not enough free space", ErrStopRun)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	run, err := c.Run(ctx, src, func(context.Context, Page) error {
		emitted.Add(1)
		return full
	}, nil)
	if !errors.Is(err, ErrStopRun) || !strings.Contains(err.Error(), "not enough free space") {
		t.Fatalf("run error %v, want the emit's", err)
	}
	// Pages are handed on in the background, so one or two more may be
	// on their way when the first refusal stops the run; not all 15.
	if n := emitted.Load(); n < 1 || n > 4 {
		t.Errorf("%d pages emitted, want the first (and those already on their way)", n)
	}
	runs, err := c.Store().Runs(ctx, "stop", 10)
	if err != nil || len(runs) != 1 || !strings.Contains(runs[0].Error, "data folder /srv/data: not enough free space") || runs[0].Ended.IsZero() {
		t.Fatalf("history: %+v, %v", runs, err)
	}
	if run.New != 0 || run.Errors["emit"] != emitted.Load() {
		t.Errorf("stats of the stopped run: %+v", run.Stats)
	}
	sink := &pageSink{}
	if again := runOnce(t, c, src, sink); again.New != 15 {
		t.Errorf("next run handed on %d pages, want all 15", again.New)
	}
}
