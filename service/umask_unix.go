//go:build unix

package service

import "syscall"

// restrictUmask makes files and folders created from now on private to
// their owner.
func restrictUmask() { syscall.Umask(0o077) }
