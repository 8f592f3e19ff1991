//go:build race

package burst

// The race detector slows the synthetic evaluation tenfold: it runs at
// its -short size there.
func init() { raceEnabled = true }
