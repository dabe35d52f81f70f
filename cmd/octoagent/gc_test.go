package main

import (
	"runtime/debug"
	"testing"
)

func TestTuneGCDefaultsAndOverrides(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	env := map[string]string{"OCTOAGENT_MEMORY_LIMIT": "268435456"}
	gc, limit := tuneGC(func(k string) string { return env[k] })
	if gc != defaultGCPercent || limit != 268435456/10*9 {
		t.Fatalf("defaults: GOGC %d, memory limit %d", gc, limit)
	}
	env = map[string]string{"GOGC": "50", "GOMEMLIMIT": "100MiB", "OCTOAGENT_MEMORY_LIMIT": "268435456"}
	if gc, limit := tuneGC(func(k string) string { return env[k] }); gc != -2 || limit != -1 {
		t.Fatalf("GOGC and GOMEMLIMIT set, yet the agent changed them: %d %d", gc, limit)
	}
	env = map[string]string{"OCTOAGENT_MEMORY_LIMIT": "not a number"}
	if _, limit := tuneGC(func(k string) string { return env[k] }); limit != -1 {
		t.Fatalf("a bad OCTOAGENT_MEMORY_LIMIT set a limit: %d", limit)
	}
}
