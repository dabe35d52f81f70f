package grok

import (
	"math/rand"
	"regexp"
	"testing"
)

// numberRE is the number's body in Go's regexp, whose leftmost-first
// match is a backtracking engine's first one.
var numberRE = regexp.MustCompile(`^[+-]?(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)`)

func checkNumber(t *testing.T, in []byte) {
	for pos := 0; pos <= len(in); pos++ {
		end, ok := numberEnd(in, pos)
		loc := numberRE.FindIndex(in[pos:])
		if ok != (loc != nil) || (ok && end != pos+loc[1]) {
			t.Fatalf("%q from %d: numberEnd %d %v, regexp %v", in, pos, end, ok, loc)
		}
	}
}

// numberEnd is the first match of the number's body, or none, on random
// lines over digits, dots, signs and spaces, from every position.
func TestNumberEnd(t *testing.T) {
	rng := rand.New(rand.NewSource(9))
	alphabet := []byte("0123456789...++--  a")
	for k := 0; k < 20000; k++ {
		b := make([]byte, rng.Intn(12))
		for i := range b {
			b[i] = alphabet[rng.Intn(len(alphabet))]
		}
		checkNumber(t, b)
	}
}

// NUMBER's body is one item, forced where what follows cannot extend it.
func TestNumberItems(t *testing.T) {
	defs := map[string]string{
		// Logstash's, as in patterns/legacy/grok-patterns
		"BASE10NUM": `(?<![0-9.+-])(?>[+-]?(?:(?:[0-9]+(?:\.[0-9]+)?)|(?:\.[0-9]+)))`,
		"NUMBER":    `(?:%{BASE10NUM})`,
	}
	lookup := func(n string) (string, bool) { v, ok := defs[n]; return v, ok }
	for _, c := range []struct {
		pat    string
		forced []bool
	}{
		{`^%{NUMBER:a} (?:-|%{NUMBER:b}) `, []bool{true, true}},
		{`^(?:%{NUMBER:a}|x) "`, []bool{true}},
		{"^(?:" + numberText + `)\.x`, []bool{false}},
	} {
		p, err := Compile(c.pat, Options{Lookup: lookup})
		if err != nil {
			t.Fatal(err)
		}
		if p.segs == nil {
			t.Fatalf("%s: not on segments (%s)", c.pat, p.Reason)
		}
		var forced []bool
		var walk func(items []segItem)
		walk = func(items []segItem) {
			for _, it := range items {
				switch it.kind {
				case segNumber:
					forced = append(forced, it.forced)
				case segAlt:
					for _, a := range it.alts {
						walk(a)
					}
				}
			}
		}
		walk(p.segs.items)
		if len(forced) != len(c.forced) {
			t.Fatalf("%s: %d numbers, want %d", c.pat, len(forced), len(c.forced))
		}
		for i := range forced {
			if forced[i] != c.forced[i] {
				t.Errorf("%s: number %d forced %v, want %v", c.pat, i, forced[i], c.forced[i])
			}
		}
	}
}

func FuzzNumberEnd(f *testing.F) {
	for _, s := range []string{"1.1", "+.5", "-", "12.", "1.2.3", " 200 ", "+-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkNumber(t, []byte(s))
	})
}
