package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestPlaygroundArgs(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"playground", "extra"}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), `unexpected argument "extra"`) {
		t.Fatalf("extra argument: exit %d, %s", code, errOut.String())
	}
	errOut.Reset()
	if code := run([]string{"playground", "-c", "/nonexistent/rules.hcl"}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "Cannot read config /nonexistent/rules.hcl") {
		t.Fatalf("missing config: exit %d, %s", code, errOut.String())
	}
	errOut.Reset()
	if code := run([]string{"playground", "--addr", "256.0.0.1:1"}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "pick another with --addr") {
		t.Fatalf("bad address: exit %d, %s", code, errOut.String())
	}
}
