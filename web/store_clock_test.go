package web

import "time"

// SetStoreClock sets the clock s reads, for the conformance test of the
// SQLite store in package web_test.
func SetStoreClock(s *Store, now func() time.Time) { s.now = now }
