//go:build !linux

// Package residency drops the binary's pages from the resident set on
// Linux (see residency_linux.go); elsewhere it does nothing.
package residency

// Stop ends the start-up watcher (there is none on this system).
func Stop() {}
