//go:build unix

package evidence

import (
	"errors"
	"os"
	"syscall"
)

// lockFile takes an exclusive lock on f without waiting; false when another
// process holds it (it is still writing the file). The kernel drops the
// lock when that process dies, which is how Open tells a file left open by
// a crash from one being written.
func lockFile(f *os.File) (unlock func(), ok bool, err error) {
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }, true, nil
}
