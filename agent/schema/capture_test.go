package schema

import (
	"net/netip"
	"testing"

	"github.com/octostore/agent/agent"
)

// captureFields declares a field of each kind CaptureString has a fast
// path for, with and without constraints, and some it has none for.
const captureFields = `schema "cap" {
  field "s"    { type = "string" }
  field "sn"   {
    type        = "string"
    null_values = ["-", "", "n/a"]
  }
  field "s1"   {
    type        = "string"
    null_values = ["-"]
  }
  field "sp"   {
    type    = "string"
    pattern = "^HTTP/[0-9.]+$"
  }
  field "slen" {
    type = "string"
    min  = 2
    max  = 4
  }
  field "e"    {
    type        = "enum"
    values      = ["GET", "HEAD", "POST"]
    null_values = ["-"]
  }
  field "i"    { type = "int" }
  field "ib"   {
    type        = "int"
    min         = 100
    max         = 599
    null_values = ["-"]
    default     = 200
  }
  field "ip"   { type = "ip" }
  field "ipp"  {
    type    = "ip"
    pattern = "^10[.]"
  }
  field "tl"   {
    type   = "time"
    layout = "02/Jan/2006:15:04:05 -0700"
  }
  field "tlb"  {
    type   = "time"
    layout = "02/Jan/2006:15:04:05 -0700"
    min    = 0
  }
  field "t"    { type = "time" }
  field "f"    { type = "float" }
  field "b"    { type = "bool" }
  field "u"    { type = "url" }
  field "d"    { type = "duration" }
  field "l"    { type = "list" }
}`

var captureInputs = []string{
	"", "-", "n/a", "GET", "get", "HEAD", "POST ", "HTTP/1.1", "HTTP/", "HTTP/2.0x", "ab", "abcde",
	"0", "7", "100", "599", "600", "99", "-5", "+5", " 42", "0042", "123456789012345678", "1234567890123456789",
	"9223372036854775808", "1.5", "1e3",
	"1.2.3.4", "10.0.0.1", "255.255.255.255", "256.1.1.1", "01.2.3.4", "1.2.3", "1.2.3.4.5", "1..3.4", ".1.2.3",
	"1.2.3.", "1.2.3.04", "0.0.0.0", "::1", "2001:db8::1", "2001:DB8:0:0:0:0:0:1", "::ffff:1.2.3.4", "fe80::1%eth0",
	"21/Nov/2026:05:41:35 +0000", "21/Nov/2026:05:41:35 -0130", "29/Feb/2025:05:41:35 +0000", "21/Foo/2026:05:41:35 +0000",
	"21/Nov/2026:25:41:35 +0000", "2026-11-21T05:41:35Z", "true", "off", "/path", "https://x.example/a", "1m30s",
}

func TestCaptureStringFastPathsMatchGeneral(t *testing.T) {
	s, d := decode(t, captureFields)
	if d.HasErrors() {
		t.Fatal(d)
	}
	for _, f := range s.Fields {
		for _, x := range captureInputs {
			checkCapture(t, f, x)
		}
	}
}

// checkCapture compares CaptureString with its general path on x.
func checkCapture(t *testing.T, f *Field, x string) {
	t.Helper()
	v, skip, err := f.CaptureString(x)
	gv, gskip, gerr := f.captureString(x)
	if v != gv || skip != gskip || (err == nil) != (gerr == nil) || (err != nil && err.Error() != gerr.Error()) {
		t.Errorf("field %s (%s), %q: got %v %v %v, the general path gives %v %v %v", f.Name, f.Type, x, v, skip, err, gv, gskip, gerr)
	}
	if null, hasNull, ok := f.AsIs(); ok {
		// What AsIs promises: x as it is, or skipped when it is null.
		askip, want := hasNull && x == null, agent.StringValue(x)
		if askip {
			want = agent.Value{}
		}
		if gv != want || gskip != askip || gerr != nil {
			t.Errorf("field %s (%s), %q: AsIs (%q, %v), the general path gives %v %v %v", f.Name, f.Type, x, null, hasNull, gv, gskip, gerr)
		}
	}
}

func FuzzCaptureString(f *testing.F) {
	for _, x := range captureInputs {
		f.Add(x)
	}
	s, d := decode(f, captureFields)
	if d.HasErrors() {
		f.Fatal(d)
	}
	f.Fuzz(func(t *testing.T, x string) {
		for _, fd := range s.Fields {
			checkCapture(t, fd, x)
		}
		checkIPv4(t, x)
	})
}

func TestCanonicalIPv4(t *testing.T) {
	for _, x := range captureInputs {
		checkIPv4(t, x)
	}
}

func checkIPv4(t *testing.T, x string) {
	t.Helper()
	a, err := netip.ParseAddr(x)
	if want := err == nil && a.Is4(); canonicalIPv4(x) != want {
		t.Errorf("canonicalIPv4(%q) = %v, want %v", x, !want, want)
	}
}
