//go:build !unix

package service

// restrictUmask does nothing where there is no umask.
func restrictUmask() {}
