package burst

import (
	"flag"
	"fmt"
	"testing"
	"time"
)

var explore = flag.Bool("burst.explore", false, "print the recall and false-burst tables over sensitivities and burst sizes")

func TestExplore(t *testing.T) {
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

func TestExploreDefault(t *testing.T) {
	if !*explore {
		t.Skip("-burst.explore not set")
	}
	for _, s := range []float64{0.01} {
		fs := evaluate(Params{Sensitivity: s}, seedSets["tune"], 100, 12, issueMinimum, detectable)
		t.Logf("sensitivity %g, %s:\n%s", s, issueMinimum.name, table(fs[0]))
		t.Logf("sensitivity %g, %s:\n%s", s, detectable.name, table(fs[1]))
	}
}
