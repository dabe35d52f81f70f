package rules

import (
	"fmt"
	"math/rand"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/octostore/agent/internal/grok"
	"github.com/octostore/agent/internal/testfig"
)

func lookupIn(set map[string]string) func(string) (string, bool) {
	return func(n string) (string, bool) {
		v, ok := set[n]
		return v, ok
	}
}

func sortedPatternNames(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Every definition of both shipped sets compiles, and most run on the
// linear engine.
func TestLogstashSetsCompile(t *testing.T) {
	for _, ecs := range []string{"v1", "disabled"} {
		set := LogstashPatterns(ecs)
		if len(set) < 300 {
			t.Fatalf("%s: %d patterns, want the whole set", ecs, len(set))
		}
		count := map[grok.Engine]int{}
		var slow []string
		for _, name := range sortedPatternNames(set) {
			p, err := grok.Compile("%{"+name+"}", grok.Options{Lookup: lookupIn(set)})
			if err != nil {
				t.Errorf("%s %s: %v", ecs, name, err)
				continue
			}
			count[p.Engine]++
			if p.Engine == grok.EngineBacktracking {
				slow = append(slow, name)
			}
		}
		for _, name := range []string{"IP", "NUMBER", "TIMESTAMP_ISO8601", "HTTPDATE", "QUOTEDSTRING", "HTTPD_COMBINEDLOG", "SYSLOGBASE", "IPORHOST", "URI", "SYSLOGLINE", "COMBINEDAPACHELOG"} {
			p, _ := grok.Compile("%{"+name+"}", grok.Options{Lookup: lookupIn(set)})
			if p == nil || p.Engine == grok.EngineBacktracking {
				t.Errorf("%s %s: not on the fast path", ecs, name)
			}
		}
		testfig.Report(t, "ecs_compatibility=%s: %d patterns compile: %d linear, %d backtracking (%s)", ecs, len(set), count[grok.EngineLinear], count[grok.EngineBacktracking], strings.Join(slow, ", "))
	}
}

// differential compares the fast engine with the backtracking engine on
// the pattern as written, for every pattern of both sets that runs fast,
// on sample lines and random mutations of them.
func TestGrokEnginesAgree(t *testing.T) {
	rng := rand.New(rand.NewSource(27))
	var lines []string
	for _, c := range familyCases {
		lines = append(lines, c.line)
	}
	lines = append(lines, "", "-", "1.2.3.4", "999.1.2.3", "2001:db8::1", "+3.14 0x1F", `"a \"b\" c" 'd'`, "12:34:56.789 12:34:567",
		"Nov 21 05:41:35", "2026-11-21T05:41:35.123+01:00", "/usr/local/bin:C:\\Windows\\x", "user@example.com", "aé/ü 12")
	alphabet := []byte("0123456789abcdefABCDEF:.-/ \"'\\[]()<>=@,;_|xyzTZ+\t")
	mutate := func(s string) string { return mutateLine(rng, s, alphabet) }
	var inputs []string
	for _, l := range lines {
		inputs = append(inputs, l)
		for k := 0; k < 6; k++ {
			inputs = append(inputs, mutate(l))
		}
	}
	compared, patterns := 0, 0
	for _, ecs := range []string{"v1", "disabled"} {
		set := LogstashPatterns(ecs)
		for _, name := range sortedPatternNames(set) {
			src := "%{" + name + ":whole}"
			fast, err := grok.Compile(src, grok.Options{Lookup: lookupIn(set)})
			if err != nil || fast.Engine == grok.EngineBacktracking {
				continue
			}
			slow, err := grok.Compile(src, grok.Options{Lookup: lookupIn(set), ForceBacktracking: true, Budget: time.Minute}) // a reference, not a budget test: a loaded machine must not fail it
			if err != nil {
				t.Fatal(err)
			}
			patterns++
			fm, sm := fast.NewMatcher(), slow.NewMatcher()
			a, b := make([]int, fast.Slots()), make([]int, slow.Slots())
			for _, in := range inputs {
				ok1, _ := fm.Match([]byte(in), a)
				ok2, err := sm.Match([]byte(in), b)
				if err != nil {
					t.Fatalf("%s on %q: %v", name, in, err)
				}
				compared++
				if ok1 != ok2 || (ok1 && fmt.Sprint(a[2:]) != fmt.Sprint(b[2:])) {
					t.Errorf("%s %s on %q: fast %v %v, backtracking %v %v", ecs, name, in, ok1, a, ok2, b)
				}
			}
		}
	}
	testfig.Report(t, "fast engine = backtracking engine on %d patterns, %d matches compared (captures and positions)", patterns, compared)
}

// mutateLine deletes, inserts or replaces one to four bytes of s at
// random, taking new bytes from alphabet.
func mutateLine(rng *rand.Rand, s string, alphabet []byte) string {
	b := []byte(s)
	for k := rng.Intn(4); k >= 0; k-- {
		switch op := rng.Intn(3); {
		case op == 0 && len(b) > 0:
			i := rng.Intn(len(b))
			b = append(b[:i], b[i+1:]...)
		case op == 1:
			i := rng.Intn(len(b) + 1)
			b = append(b[:i], append([]byte{alphabet[rng.Intn(len(alphabet))]}, b[i:]...)...)
		case len(b) > 0:
			b[rng.Intn(len(b))] = alphabet[rng.Intn(len(alphabet))]
		}
	}
	return string(b)
}
