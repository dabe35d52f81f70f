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
}

func TestScannerAgreesWithRegexp(t *testing.T) {
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
		loc := make([]int, 2*(re.NumSubexp()+1))
		for _, in := range inputs {
			want := re.FindSubmatchIndex([]byte(in))
			ok := sc.Match([]byte(in), loc)
			if sc.MatchString(in) != (want != nil) {
				t.Fatalf("%s on %q: MatchString disagrees", p.pattern, in)
			}
			if ok != (want != nil) || (ok && !slices.Equal(loc, want)) {
				t.Fatalf("%s on %q: scanner %v %v, regexp %v", p.pattern, in, ok, loc, want)
			}
		}
	}
}
