package scan

import (
	"math/rand/v2"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var scannerPatterns = []struct {
	pattern string
	fast    bool
}{
	{`^(?P<client_ip>\S+) - (?P<user>\S+) \[(?P<time>[^\]]+)\] "(?P<method>[A-Z]+) (?P<path>[^ "]+) (?P<protocol>[^"]+)" (?P<status>\d{3}) (?P<bytes>\d+|-) "(?P<referer>[^"]*)" "(?P<user_agent>[^"]*)"$`, true},
	{`^(?P<client_ip>\S+) \S+ (?P<user>\S+) \[(?P<time>[^\]]+)\] "(?P<method>[A-Z]+) (?P<path>[^ "]+) (?P<protocol>[^"]+)" (?P<status>\d{3}) (?P<bytes>\d+|-)`, true},
	{`^(?P<a>\w+)=(?P<b>[^ ]*)`, true},
	{`^(?P<word>\w+) (?P<n>\d+)$`, true},
	{`^(?P<x>.+)$`, true},
	{`(?P<unanchored>\d+)`, false},
	{`^(?P<a>\S+)(?P<b>\S+)$`, false},              // two repeats in a row
	{`^(?P<a>[^ ]+) (?P<b>.*) (?P<c>\d+)$`, false}, // .* would swallow the rest
	{`^(?i)(?P<a>get) `, false},
	// each op kind of matchOps: one byte, a literal, until a byte (+ and
	// *), a run, a bounded repeat, alternatives
	{`^(?P<a>[^"]+)"(?P<b>\d{1,3})(?P<c>x|yz)(?P<d>[a-z]*)--(?P<e>[^\]]*)]$`, true},
	{`^(?P<lit>abc)(?P<one>=)(?P<v>[0-9]?)-(?P<w>\w*)$`, true},
	// literals then one unbounded repeat: MatchString's prefixRun, with
	// and without $, a minimum above one, no prefix
	{`^HTTP/[0-9.]+$`, true},
	{`^HTTP/[0-9.]+`, true},
	{`^(?P<v>ab)c=\d{2,}$`, true},
	{`^abc=\d{2,}`, true},
	{`^a[^"]*$`, true},
	{`^[0-9.]*$`, true},
	// runs of a wide class (every byte from '!' up but two at most: eight
	// bytes at a time), a class that leaves out three (byte by byte), and
	// literals of two to eight bytes and longer
	{`^(?P<a>[^ "x]+)x(?P<b>\S+)$`, true},
	{`^(?P<a>[^"xy]+)y(?P<b>[^ ]*) 0123456789(?P<c>\S*)$`, true},
	{`^(?P<a>[a-z0-9]+)-- "(?P<b>[^"]*)"$`, true},
}

func TestScannerAgreesWithRegexp(t *testing.T) {
	inputs := scannerInputs(t)
	for _, p := range scannerPatterns {
		re := regexp.MustCompile(p.pattern)
		sc := Compile(re)
		if (sc != nil) != p.fast {
			t.Errorf("%s: scanner compiled = %v, want %v", p.pattern, sc != nil, p.fast)
			continue
		}
		if sc == nil {
			continue
		}
		for _, in := range inputs {
			checkScanner(t, re, sc, in)
		}
	}
}

// FuzzScanner checks the scanner against regexp on the scanner's patterns.
func FuzzScanner(f *testing.F) {
	for _, in := range scannerInputs(f)[:200] {
		f.Add(in)
	}
	f.Add(`abc=7-xyz`)
	f.Add(`q"12yzab--x]`)
	var res []*regexp.Regexp
	var scs []*Scanner
	for _, p := range scannerPatterns {
		re := regexp.MustCompile(p.pattern)
		if sc := Compile(re); sc != nil {
			res, scs = append(res, re), append(scs, sc)
		}
	}
	f.Fuzz(func(t *testing.T, in string) {
		for i, re := range res {
			checkScanner(t, re, scs[i], in)
		}
	})
}

// checkScanner compares Match and MatchString with regexp on in.
func checkScanner(t *testing.T, re *regexp.Regexp, sc *Scanner, in string) {
	t.Helper()
	loc := make([]int, 2*(re.NumSubexp()+1))
	want := re.FindSubmatchIndex([]byte(in))
	ok := sc.Match([]byte(in), loc)
	if sc.MatchString(in) != (want != nil) {
		t.Fatalf("%s on %q: MatchString disagrees", re, in)
	}
	if ok != (want != nil) || (ok && !slices.Equal(loc, want)) {
		t.Fatalf("%s on %q: scanner %v %v, regexp %v", re, in, ok, loc, want)
	}
}

// scannerInputs is the nginx sample's lines, odd lines, and mutations of
// the sample.
func scannerInputs(t testing.TB) []string {
	sample, err := os.ReadFile("../../configs/samples/nginx_access.log")
	if err != nil {
		t.Fatal(err)
	}
	inputs := strings.Split(string(sample), "\n")
	inputs = append(inputs, `a b "c\" d" [e f]`, "\xff\xfe", `{"a":1}`)
	inputs = append(inputs, "", "word 12", "word 12 ", "a=", "=b", "héllo 1", "x", "1.2.3.4 - - [t] \"GET / HTTP/1.1\" 200 -",
		"1.2.3.4 - - [t] \"GET / HTTP/1.1\" 200 12 \"r\" \"ua\" extra", "1.2.3.4 - - [t] \"GET / HTTP/1.1\" 2000 12 \"r\" \"ua\"")
	r := rand.New(rand.NewPCG(5, 6))
	alphabet := []byte(` -[]"/0123456789ABCxyz=\` + "\xff\t")
	for i := 0; i < 3000; i++ {
		// mutate a sample line
		b := []byte(inputs[r.IntN(50)])
		for k := r.IntN(4); k >= 0 && len(b) > 0; k-- {
			b[r.IntN(len(b))] = alphabet[r.IntN(len(alphabet))]
		}
		inputs = append(inputs, string(b))
	}
	for _, w := range []string{"abcdefghijklmnopq", "0123456789\t01234567", "\xff\xfe\x80abcdefgh\x01xyz"} {
		for i := 0; i <= len(w); i++ {
			for _, c := range []string{"x", "y", " ", "\"", "--", "\x00", "\x7f"} {
				inputs = append(inputs, w[:i]+c+w[i:], w[:i]+c+w[i:]+"x"+w, w[:i]+c+"y"+w+" 0123456789"+w, w[:i]+c+`-- "`+w+`"`)
			}
		}
	}
	inputs = append(inputs, "HTTP/1.1", "HTTP/", "HTTP/1.x", "HTTP/2", "HTTP/1.1 ", "HTTP/1.1\n", "HTTP", "abc=1", "abc=12", "abc=123x", "abc=x12", "a\"", "a", "1.2.3.4", "1.2.3.4\xff")
	return append(inputs, "abc=", "abc=7", "abc=7-x_y", "abc=-", "abc=77-", "abc", "abd=", `"1x--]`, `a"1x--]`, `a"1234x--]`, `a"12yzq--z]`, `a"12yz--]]`)
}

// A check with more groups than Match's callers keep room for still
// matches: MatchString records no group.
func TestMatchStringManyGroups(t *testing.T) {
	re := regexp.MustCompile("^" + strings.Repeat(`(a)`, 40) + `(?P<rest>[^x]*)x$`)
	sc := Compile(re)
	if sc == nil {
		t.Fatal("no scanner")
	}
	in := strings.Repeat("a", 40) + "bcx"
	if !sc.MatchString(in) || sc.MatchString(in+"x") {
		t.Errorf("MatchString disagrees with regexp")
	}
}

// BenchmarkMatchNginx is the nginx pack's pattern on the nginx sample.
func BenchmarkMatchNginx(b *testing.B) {
	lines := scannerInputs(b)[:50]
	re := regexp.MustCompile(scannerPatterns[0].pattern)
	sc := Compile(re)
	loc := make([]int, 2*(re.NumSubexp()+1))
	in := make([][]byte, len(lines))
	for i, l := range lines {
		in[i] = []byte(l)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sc.Match(in[i%len(in)], loc)
	}
}

// Patterns of literals then one unbounded repeat are matched by
// MatchString's prefixRun; others are not.
func TestPrefixRun(t *testing.T) {
	for p, want := range map[string]bool{
		`^HTTP/[0-9.]+$`: true, `^HTTP/[0-9.]+`: true, `^(?P<v>ab)c=\d{2,}$`: true, `^[0-9.]*$`: true, `^(?P<x>.+)$`: true,
		`^a[^"]*"$`: false, `^\d{1,3}$`: false, `^(?P<a>\w+)=(?P<b>[^ ]*)`: false,
	} {
		if sc := Compile(regexp.MustCompile(p)); sc == nil || (sc.run != nil) != want {
			t.Errorf("%s: prefixRun %v, want %v", p, sc != nil && sc.run != nil, want)
		}
	}
}

// The kinds setKind gives: wide runs and short literals where they apply.
func TestKinds(t *testing.T) {
	sc := Compile(regexp.MustCompile(`^(?P<a>[^ "x]+)x(?P<b>\S+) (?P<c>[^"xy]+)y--(?P<d>[A-Z]+)0123456789`))
	var got []opKind
	for _, op := range sc.ops {
		got = append(got, op.kind)
	}
	if want := []opKind{opWideRun, opByte, opWideRun, opByte, opRun, opLit8, opRun, opLit}; !slices.Equal(got, want) {
		t.Errorf("kinds %v, want %v", got, want)
	}
}
