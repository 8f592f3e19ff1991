//go:build !linux && !darwin

package service

// freeBytes reports the free space as unknown (-1) where it is not read.
func freeBytes(string) (int64, error) { return -1, nil }
