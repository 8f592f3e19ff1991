//go:build !unix

package crawler

import (
	"errors"
	"os"
)

// tryLock is not available here: every other instance counts as alive, and
// a dead one's leases run out LeaseTTL after its last heartbeat.
func tryLock(*os.File) (bool, error) { return false, errors.ErrUnsupported }

func unlock(*os.File) {}
