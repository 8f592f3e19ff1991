//go:build unix

package main

import "syscall"

// restrictUmask makes files and folders created from now on private to
// their owner.
func restrictUmask() { syscall.Umask(0o077) }
