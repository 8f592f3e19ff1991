package burst

import (
	"flag"
	"fmt"
	"testing"
	"time"
)

// explore turns on the tables printed while tuning (on the tune seeds).
var explore = flag.Bool("burst.explore", false, "print the recall and false-burst tables over sensitivities and burst sizes")

// TestBurstSizeGrid prints recall by burst size and spread at three
// sensitivities on the tuning seeds.
func TestBurstSizeGrid(t *testing.T) {
	if !*explore {
		t.Skip("-burst.explore not set")
	}
	seed := seedSets["tune"]
	for _, s := range []float64{0.002, 0.005, 0.01} {
		for _, k := range []int{3, 4, 5, 6, 8, 10, 12, 16, 20} {
			for _, spread := range []time.Duration{6 * time.Hour, 2 * time.Hour} {
				kk := k
				rule := burstRule{fmt.Sprintf("%d posts in %v", k, spread), func(float64) int { return kk }, spread}
				fs := evaluate(Params{Sensitivity: s}, seed, 40, 6, rule)
				t.Logf("sensitivity %g, %s:\n%s", s, rule.name, table(fs[0]))
			}
		}
	}
}

// TestSensitivitySweep prints recall and false bursts at five sensitivities
// on the tuning seeds (the README's trade-off table).
func TestSensitivitySweep(t *testing.T) {
	if !*explore {
		t.Skip("-burst.explore not set")
	}
	for _, s := range []float64{0.001, 0.003, 0.01, 0.03, 0.1} {
		fs := evaluate(Params{Sensitivity: s}, seedSets["tune"], 100, 12, issueMinimum, detectable)
		t.Logf("sensitivity %g, %s:\n%s", s, issueMinimum.name, table(fs[0]))
		t.Logf("sensitivity %g, %s:\n%s", s, detectable.name, table(fs[1]))
	}
}
