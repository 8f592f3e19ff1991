//go:build !unix

package crawler

import "time"

// processCPU is not measured on this platform; benchmarks then omit their
// CPU-per-page metric.
func processCPU() time.Duration { return 0 }
