//go:build !linux

package main

import "runtime/debug"

// releaseStartupMemory returns the garbage of startup to the system (see
// residency_linux.go for what Linux does too).
func releaseStartupMemory() { debug.FreeOSMemory() }

func dropBinaryPages() {}
