package main

import (
	"fmt"
	"testing"

	"riskmine/index"
)

// TestRefusalIsWhatTheAnalystCanFix: the reason stored on a refused rule
// drops the packages' prefixes and keeps what the bounds said.
func TestRefusalIsWhatTheAnalystCanFix(t *testing.T) {
	err := fmt.Errorf("index: search %q: %w: 燃* matches more than 1024 words; write more of the word", "燃*", index.ErrBadQuery)
	if got, want := refusal(err), `search "燃*": bad query: 燃* matches more than 1024 words; write more of the word`; got != want {
		t.Errorf("refusal %q, want %q", got, want)
	}
}
