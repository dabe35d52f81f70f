package schema

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"strings"
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
	"2001:db8:bc10:a96b::cfcc", "2001:db8::", "::", "0::1", "1::", "1:", ":1", ":::1", "1:::2", "1::2::3", "::1:",
	"1:0:0:2:0:0:0:3", "1:0:0:2:0:0:3:4", "1:0:0:2::3:4", "::ffff:102:304", "::fffe:102:304", "0:0:0:0:0:ffff:102:304",
	"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1", "2001:0db8::1", "2001:db8:0:1:1:1:1:1", "2001:db8::1:1:1:1:1",
	"1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8", "12345::1", "abcd", "::1.2.3.4", "::1%z",
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
		checkIPv6(t, x)
	})
}

func TestCanonicalIP(t *testing.T) {
	for _, x := range captureInputs {
		checkIPv4(t, x)
		checkIPv6(t, x)
	}
}

func checkIPv4(t *testing.T, x string) {
	t.Helper()
	a, err := netip.ParseAddr(x)
	if want := err == nil && a.Is4(); canonicalIPv4(x) != want {
		t.Errorf("canonicalIPv4(%q) = %v, want %v", x, !want, want)
	}
}

// checkIPv6: canonicalIPv6 is true exactly for the IPv6 addresses that
// netip formats as they are, but zoned or IPv4-mapped ones (left to netip).
func checkIPv6(t *testing.T, x string) {
	t.Helper()
	a, err := netip.ParseAddr(x)
	if want := err == nil && a.Is6() && a.Zone() == "" && !a.Is4In6() && a.String() == x; canonicalIPv6(x) != want {
		t.Errorf("canonicalIPv6(%q) = %v, want %v", x, !want, want)
	}
}

// TestCanonicalIPv6Spellings checks canonicalIPv6 on random addresses
// rich in zero groups, in every spelling: netip's, expanded, and with
// "::" over each run of zeros (the canonical one among them).
func TestCanonicalIPv6Spellings(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for n := 0; n < 20000; n++ {
		var g [8]uint16
		for k := range g {
			switch r.IntN(4) {
			case 0, 1:
			case 2:
				g[k] = []uint16{1, 0xffff, 0x10, 0xabc}[r.IntN(4)]
			default:
				g[k] = uint16(r.Uint32())
			}
		}
		var b [16]byte
		for k, v := range g {
			b[2*k], b[2*k+1] = byte(v>>8), byte(v)
		}
		a := netip.AddrFrom16(b)
		checkIPv6(t, a.String())
		checkIPv6(t, a.StringExpanded())
		for i := 0; i < 8; i++ {
			for j := i + 1; j <= 8 && g[j-1] == 0; j++ {
				var sp []string
				for k := 0; k < i; k++ {
					sp = append(sp, strconv.FormatUint(uint64(g[k]), 16))
				}
				s := strings.Join(sp, ":") + "::"
				sp = sp[:0]
				for k := j; k < 8; k++ {
					sp = append(sp, strconv.FormatUint(uint64(g[k]), 16))
				}
				checkIPv6(t, s+strings.Join(sp, ":"))
			}
		}
	}
}

// TestCanonicalIPv4EveryPart checks canonicalIPv4 with every string of one
// to three digits as each of the four parts.
func TestCanonicalIPv4EveryPart(t *testing.T) {
	var parts []string
	for n := 1; n <= 3; n++ {
		for v := 0; v < []int{0, 10, 100, 1000}[n]; v++ {
			parts = append(parts, fmt.Sprintf("%0*d", n, v))
		}
	}
	for _, p := range append(parts, "", "a", "1a", "2.", "-1", "+1") {
		for k := 0; k < 4; k++ {
			q := []string{"1", "22", "255", "0"}
			q[k] = p
			checkIPv4(t, strings.Join(q, "."))
		}
	}
}
