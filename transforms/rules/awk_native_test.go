package rules

import (
	"math/rand"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/benhoyt/goawk/parser"
)

// nativeProgram is the native form of src, or nil when the interpreter
// runs it.
func nativeProgram(t testing.TB, src string) *awkNative {
	t.Helper()
	prog, err := parser.ParseProgram([]byte(src), &parser.ParserConfig{Funcs: map[string]any{
		"set": func(string, string) {}, "fail": func(string) {}}})
	if err != nil {
		t.Fatalf("%q: %v", src, err)
	}
	native, _ := compileAwkNative(prog)
	return native
}

// nginxAwkProgram is the program of configs/nginx/variants/awk.hcl.
func nginxAwkProgram(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile("../../configs/nginx/variants/awk.hcl")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?s)<<-AWK\n(.*?)\n\s*AWK`).FindSubmatch(b)
	if m == nil {
		t.Fatal("no program in awk.hcl")
	}
	return string(m[1])
}

// awkNativePrograms take the native path; each is checked against the
// interpreter on awkDiffLines.
var awkNativePrograms = []string{
	`{ print $1, $7 }`,
	`{ print; print $0 $2; set("a", $1); set("b", $7) }`,
	`BEGIN { FS = "," } { set("a", $1); set("b", $3); set("nf", NF); set("last", $NF) }`,
	`BEGIN { FS = "\t" } { set("a", $2); set("n", split($0, p)); set("p1", p[1]) }`,
	`BEGIN { FS = "|" } NF >= 3 { set("x", $3) } NF < 3 { fail("short: " NF) }`,
	`{ n = split($0, q, "\""); set("n", n); set("q2", q[2]); set("q0", q[0]); set("q9", q[9]) }`,
	`{ set("s1", substr($0, 2)); set("s2", substr($1, 0, 3)); set("s3", substr($2, -1, 3)); set("s4", substr($3, 5, -2)); set("s5", substr($1, 100)); set("s6", substr($1, 2, length($1) - 3)) }`,
	`{ set("len", length()); set("l1", length($1)); set("l2", length($1 $2) + 1 - 2); set("neg", -length($3)) }`,
	`{ if ($1 == "GET") { set("m", "get") } else if ($1 != "") { set("m", "other " $1) } else { fail("none") } }`,
	`{ if ($2 < "m" && $3 >= "a" || !($4 "")) set("x", "y"); set("z", $2 > "" ) }`,
	`{ a = $1; b = a "-" $2; if (length(b) > 3) c = 1; else c = 2; set("b", b); set("c", c) }`,
	`{ if (split($1, a, ".") != 4) { fail("not four"); next }; set("o1", a[1]); set("o4", a[4]) }`,
	`{ set("x", $1); next; set("y", $2) }`,
	`{ set("c3", $1 "-" $2); set("c7", $1 "-" $2 "-" $3 "-" NF); set("g", ($1 "") ("" $2)) }`,
	`{ set("n", split("", e)); set("m", split("", f, ",")); set("k", split($2 "", g, ";")) ; set("g2", g[2]) }`,
	`{ set($1, $2) }`,
	`{ set("a", 1 + 2); set("b", 10 - 20); set("c", "x" 3); set("d", 1 == 1); set("e", "10" < 9) }`,
	`NF { set("nf", NF) } !NF { fail("blank") }`,
	// numeric strings: compared, tested and added as AWK reads them
	`{ if ($1) set("t", 1); else set("f", 1); if (!$2) set("n2", 1) } $3 { set("t3", $3) }`,
	`{ if ($1 == 200) set("eq", 1); if ($1 < $2) set("lt", 1); if ($1 >= 5) set("ge", 1); set("cmp", ($1 != $2) "" ($2 > 10)) }`,
	`{ if (($1 < 1)) set("g", 1); if ($1 > 1 || $1 <= 1) set("any", 1); set("neg", -$1); set("pos", +$2) }`,
	`{ set("m", $1 * 2); set("f", 1.5); set("s", $1 + $2 - 0.25); set("big", 1e300 * 1e300); set("nan", -(1e300 * 1e300) + 1e300 * 1e300) }`,
	`{ set("a", substr($1, $2)); set("b", substr($0, $2, $3)); set("c", "x" + 1) }`,
	// regular expressions
	`$1 ~ /^[0-9]+$/ { set("num", $1) } $1 !~ /^[0-9]+$/ { fail("not a number: " $1) }`,
	`/GET/ { set("get", 1) } !/^a/ { set("na", $1) } { if ($0 ~ "b|c") set("bc", 1); set("dot", $1 ~ /^.$/) }`,
	`{ fail("one"); fail("two"); set("a", $1) }`,
	`{ split($0, w); if (w[1] == "") { fail("empty") ; next } set("w1", w[1]) }`,
}

// awkNotNative must be left to the interpreter.
var awkNotNative = []string{
	`{ set("a", x); x = $1 }`,                        // read before set: the last line's value
	`{ for (i = 1; i <= NF; i++) set("f" i, $i) }`,   // a loop
	`{ getline; set("a", $1) }`,                      // getline
	`{ set("nr", NR) }`,                              // NR
	`function f(x) { return x } { set("a", f($1)) }`, // a function
	`{ set("a", $1) } END { set("b", 1) }`,           // END
	`{ $1 = "x"; set("a", $0) }`,                     // assigning a field
	`/a/,/b/ { set("a", 1) }`,                        // a range
	`{ print $1 > "/tmp/x"; set("a", 1) }`,           // a redirect
	`{ split($0, a, /[ ,]+/); set("a", a[1]) }`,      // a regex separator
	`{ if ($1 ~ $2) set("a", 1) }`,                   // a regex computed per line
	`{ set("a", $1 / 2) }`,                           // division (by zero: an error)
	`{ split($0, a, ", "); set("a", a[1]) }`,         // a separator of two bytes
	`BEGIN { FS = ", " } { set("a", $1) }`,           // a regex FS
	`{ if ($1 == "a") x = 1; set("x", x) }`,          // set on one path only
	`{ if (1) x = 1; else x = "s"; set("x", x) }`,    // two kinds
	`{ a[1] = 2; set("x", a[1]) }`,                   // an element assigned
	`{ printf "%d", $1; set("a", 1) }`,               // printf
	`{ n = split($0, a); set("l", length(a)) }`,      // an array's length
	`{ set("a") }`,                                   // an argument missing
	`BEGIN { x = 1 } { set("a", $1) }`,               // BEGIN doing more than FS
}

// awkDiffLines are the lines the native path and the interpreter are
// compared on: nginx lines, then adversarial and random ones.
func awkDiffLines() []string {
	lines := []string{
		`203.0.113.9 - alice [21/Nov/2026:05:41:35 +0000] "GET /a?b=c HTTP/1.1" 200 5123 "https://ex.com/" "Mozilla/5.0 (X11)"`,
		`203.0.113.9 - - [21/Nov/2026:05:41:35 +0000] "GET / HTTP/1.1" 404 0 "-" "curl/8.0"`,
		`203.0.113.9 - - [21/Nov/2026:05:41:35 +0000] "GET / HTTP/1.1" 404 0 "-" "curl/8.0" "extra"`,
		`203.0.113.9 - - [21/Nov/2026:05:41:35 +0000] "BAD" 400 0 "-" "-"`,
		`203.0.113.9 - - [21/Nov/2026:05:41:35] "GET / HTTP/1.1" 200 1 "-" "-"`,
		`203.0.113.9 - - [21/Nov/2026:05:41:35 +0000] "GET / HTTP/1.1" 200 "-" "-"`,
		`""""""`, `"`, `" "`, `a"b"c"d"e"f"g`, ` " " " " " " `, `- - - [x y] "a b c" 1 2 "r" "u"`,
		"  lead and trail  ", "tab\tsep\t\tx", "one", " ", "\t", "\v\fx\vy", "a\u00a0b c\u2003d e", "é ü ß",
		"\xff\xfe x", "nul\x00byte here", "a,b,,c,", ",", ",,", "|a|b|", "x|y", "1.2.3.4", "1..2.", "....",
		"GET x", "get y z", "m n", "GET", "a;b;;c d;e", "é\"ü\"ß", "\"\"\"\" tail",
		"200", "200 300", "abc 5", "nan 1", "+nan -nan", "inf -inf", "0x1A 26", "0x1p3 8", "1e3 1000", " 12 ", "1_000 1000",
		"-0 0", "0.0 0", "1.5foo 2", ".5 .", "1e 1", "+ -", "0 0 0", "1 2 3", "10 9 8", "9 10 b",
		"" /* empty, cr and lf go to the interpreter */, "cr\r", "two\nlines", "\n",
	}
	r := rand.New(rand.NewSource(23))
	alphabet := []string{"a", "b", "GET", "1", "0", " ", "  ", "\t", "\"", ",", "|", ";", ".", "-", "[", "]", "é", "\u2003", "\u00a0", "\v", "\x00", "\xff", "200",
		"+", "e", "5", "nan", "inf", "0x", "_", "9"}
	for i := 0; i < 400; i++ {
		var b strings.Builder
		for n := r.Intn(24); n > 0; n-- {
			b.WriteString(alphabet[r.Intn(len(alphabet))])
		}
		lines = append(lines, b.String())
	}
	return lines
}

// TestAwkNativeMatchesInterpreter: every program of the native shapes
// takes the native path and gives what the interpreter gives, on every
// line; the others stay with the interpreter.
func TestAwkNativeMatchesInterpreter(t *testing.T) {
	lines := awkDiffLines()
	for _, p := range append([]string{nginxAwkProgram(t)}, awkNativePrograms...) {
		fast, slow := awkPair(t, p)
		for _, line := range lines {
			if f, s := awkResult(fast, []byte(line)), awkResult(slow, []byte(line)); f != s {
				t.Errorf("%s\non %q: native %s, interpreter %s", p, line, f, s)
			}
		}
	}
	for _, p := range awkNotNative {
		if nativeProgram(t, p) != nil {
			t.Errorf("%q must be left to the interpreter", p)
		}
	}
}

// TestAwkNativeNginx: the nginx variant's program is native, and a line of
// the pack gives its fields.
func TestAwkNativeNginx(t *testing.T) {
	fast, _ := awkPair(t, nginxAwkProgram(t))
	got := awkResult(fast, []byte(`203.0.113.9 - alice [21/Nov/2026:05:41:35 +0000] "GET /a HTTP/1.1" 200 5123 "https://ex.com/" "curl/8.0"`))
	want := `{"bytes":"5123","client_ip":"203.0.113.9","method":"GET","path":"/a","protocol":"HTTP/1.1","referer":"https://ex.com/","status":"200","time":"21/Nov/2026:05:41:35 +0000","user":"alice","user_agent":"curl/8.0"}`
	if got != want {
		t.Fatalf("got %s\nwant %s", got, want)
	}
	if got := awkResult(fast, []byte(`a "b" c`)); got != "error: message: expected three quoted parts" {
		t.Fatalf("a malformed line: %s", got)
	}
}

// TestAwkNativeAcrossPaths: lines taking the interpreter (a line with a
// newline) between native ones change nothing: the same results as the
// interpreter alone on the same sequence.
func TestAwkNativeAcrossPaths(t *testing.T) {
	prog := `BEGIN { FS = "," } { n = split($2, a, " "); if (n > 1) { set("a2", a[2]) } else { set("a1", a[1]) }; set("n", n); set("f1", $1) }`
	fast, slow := awkPair(t, prog)
	seq := []string{"x,p q r", "y,\ns t", "z,only", "a\r,b c", "w,u v", ",", "q,\n"}
	for i := 0; i < 3; i++ {
		for _, line := range seq {
			if f, s := awkResult(fast, []byte(line)), awkResult(slow, []byte(line)); f != s {
				t.Fatalf("%q: native %s, interpreter %s", line, f, s)
			}
		}
	}
}

// FuzzAwkNative compares the native path with the interpreter on the
// nginx variant's program, one using FS, NF, substr and strings, and one
// reading numeric strings and matching a regex.
func FuzzAwkNative(f *testing.F) {
	for _, s := range append(fuzzSeeds, awkDiffLines()[:60]...) {
		f.Add([]byte(s))
	}
	type pair struct{ fast, slow *awkStep }
	var pairs []pair
	for _, p := range []string{nginxAwkProgram(f),
		`BEGIN { FS = "," } NF > 1 { set("a", substr($1, 2, length($2) - 1) "|" $NF) } { if ($2 == "x" || $3 < "m") set("b", split($0, w, " ") w[2]) }`,
		`{ if ($1 < $2) set("lt", 1); set("s", $1 + $2 * 3); if ($1 ~ /^[0-9]/) set("d", 1); if ($3) set("t", 1); set("eq", $1 == $3) }`} {
		fast, slow := awkPair(f, p)
		pairs = append(pairs, pair{fast, slow})
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		for _, p := range pairs {
			if fr, sr := awkResult(p.fast, line), awkResult(p.slow, line); fr != sr {
				t.Fatalf("%q: native %s, interpreter %s", line, fr, sr)
			}
		}
	})
}

// TestAwkNotes: octoagent validate says whether a program runs natively,
// and if not, what keeps it on the interpreter.
func TestAwkNotes(t *testing.T) {
	for prog, want := range map[string]string{
		`{ set("a", $1) }`: "parse.awk: native (compiled to Go, without the interpreter)",
		`{ for (i = 1; i <= NF; i++) set("f" i, $i) }`: "parse.awk: GoAWK interpreter (not native: `for (i = 1; i <= NF; i++) { set(\"f\" i, $i) }`)",
		`{ set("a", x); x = $1 }`:                      "parse.awk: GoAWK interpreter (not native: x: read where it is not set on every path before)",
		`{ set("a", $1) } END { }`:                     "parse.awk: GoAWK interpreter (not native: an END action)",
	} {
		c, d := decodeRules(t, `parse "awk" { program = `+hclQuote(prog)+` }`)
		if d.HasErrors() {
			t.Fatal(d)
		}
		notes := c.Notes()
		if len(notes) != 1 || !strings.HasSuffix(notes[0], want) {
			t.Errorf("%s: notes %q, want one ending %q", prog, notes, want)
		}
	}
}
