package dottedquad

import (
	"fmt"
	"net/netip"
	"regexp"
	"strings"
	"testing"
)

// Every number from 0 to 999, spelled with and without leading zeros, in
// every part, against netip (canonical), Logstash's IPV4 as a Go regexp
// (leading zeros) and the table DFAs (both), and texts that are not four
// parts.
func TestMatchAgainstReferences(t *testing.T) {
	ipv4 := regexp.MustCompile(`^(?:(?:[0-1]?[0-9]{1,2}|2[0-4][0-9]|25[0-5])[.]){3}(?:[0-1]?[0-9]{1,2}|2[0-4][0-9]|25[0-5])$`)
	n := 0
	for part := range 4 {
		for v := range 1000 {
			for _, num := range []string{fmt.Sprint(v), fmt.Sprintf("%02d", v), fmt.Sprintf("%03d", v)} {
				parts := []string{"10", "0", "255", "7"}
				parts[part] = num
				s := parts[0] + "." + parts[1] + "." + parts[2] + "." + parts[3]
				a, err := netip.ParseAddr(s)
				if want := err == nil && a.Is4(); Match(Canonical, s) != want {
					t.Errorf("Canonical %q: %v, netip says %v", s, !want, want)
				}
				if want := ipv4.MatchString(s); Match(LeadingZeros, []byte(s)) != want {
					t.Errorf("LeadingZeros %q: %v, IPV4 says %v", s, !want, want)
				}
				checkDFA(t, s)
				n++
			}
		}
	}
	for _, s := range []string{"", "1.2.3", "1.2.3.4.5", "1..2.3", ".1.2.3", "1.2.3.", "1.2.3.4 ", "a.b.c.d", "1.2.3.1000", "::1"} {
		if Match(Canonical, s) || Match(LeadingZeros, s) {
			t.Errorf("%q matched", s)
		}
		checkDFA(t, s)
	}
	if n != 12000 {
		t.Fatalf("%d texts", n)
	}
}

// Every shape of four parts of zero to twelve digits between three dots
// (of 7 to 15 bytes: each part in either word or both), each part spelled
// with the numbers that decide a verdict, against the table DFAs; and each
// shape, its parts spelled 1, 22, 255 and 1111..., with one byte changed.
func TestMatchEveryShape(t *testing.T) {
	nums := [][]string{{""}, {"0", "2", "9"}, {"00", "01", "10", "25", "99"}, {"000", "010", "199", "249", "250", "255", "256", "259", "260", "300", "999"}}
	for l := 4; l <= 12; l++ {
		nums = append(nums, []string{strings.Repeat("1", l), "2" + strings.Repeat("0", l-1)})
	}
	var quads func(s string, k int, spell func(l int) []string, f func(s string))
	quads = func(s string, k int, spell func(l int) []string, f func(s string)) {
		if k == 4 {
			if len(s) >= 7 {
				f(s)
			}
			return
		}
		for l := 0; l <= 12-len(s)+max(k-1, 0); l++ { // 12 digits at most
			for _, x := range spell(l) {
				if k > 0 {
					x = "." + x
				}
				quads(s+x, k+1, spell, f)
			}
		}
	}
	n := 0
	quads("", 0, func(l int) []string { return nums[l] }, func(s string) {
		checkDFA(t, s)
		n++
	})
	if n < 130000 {
		t.Fatalf("%d quads", n)
	}
	quads("", 0, func(l int) []string {
		return []string{[]string{"", "1", "22", "255"}[min(l, 3)] + strings.Repeat("1", max(l-3, 0))}
	}, func(s string) {
		for i := range s {
			for _, c := range []byte("./0259:a\x00\xae") {
				checkDFA(t, s[:i]+string([]byte{c})+s[i+1:])
			}
		}
	})
}

// checkDFA: Match says what the table DFA of each spelling says, of t as
// a string and as a byte slice.
func checkDFA(t *testing.T, s string) {
	t.Helper()
	for _, r := range dfas {
		if want := r.d.match(s); Match(r.s, s) != want || Match(r.s, []byte(s)) != want {
			t.Errorf("%s %q: %v, the DFA says %v", r.name, s, !want, want)
		}
	}
}

// FuzzMatch compares Match with the table DFAs; the seeds are 7 to 15
// bytes, most of them near a dotted quad.
func FuzzMatch(f *testing.F) {
	for _, s := range []string{"1.2.3.4", "10.90.132.230", "255.255.255.255", "256.1.1.1", "1.2.3.256", "249.250.255.199", "01.002.3.4", "0.0.0.0", "000.000.000.000", "1.2.3.04", "1.2.3.4.5", "1..2.3.4", ".1.2.3.4", "1.2.3.4.", "1.2.3.1000", "1.2.3.4 ", "1.2.3.\xae", "1.2\xae3.4", "::ffff:1.2.3.4"} {
		f.Add(s)
	}
	f.Fuzz(checkDFA)
}

// benchAddrs are the first IPv4 client addresses of the bench's nginx input.
var benchAddrs = [32]string{"10.90.132.230", "218.52.60.105", "100.182.66.104", "88.214.203.6", "23.64.182.135", "92.12.102.57", "10.66.216.87", "27.1.197.137", "178.117.70.187", "96.243.59.34", "145.110.110.58", "176.58.204.191", "133.73.10.177", "200.113.95.206", "10.10.247.83", "190.101.33.53", "95.166.192.191", "199.108.31.222", "65.113.50.253", "147.116.142.197", "10.222.63.10", "64.240.4.177", "27.206.95.103", "12.210.194.179", "10.235.69.40", "161.246.211.105", "126.208.179.83", "140.88.109.69", "134.47.214.252", "10.45.208.140", "62.119.193.219", "10.43.81.216"}

func BenchmarkMatch(b *testing.B) {
	var bs [len(benchAddrs)][]byte
	for i, s := range benchAddrs {
		bs[i] = []byte(s)
	}
	b.Run("Canonical", func(b *testing.B) { benchMatch(b, Canonical, &benchAddrs) })
	b.Run("LeadingZeros", func(b *testing.B) { benchMatch(b, LeadingZeros, &bs) })
}

func benchMatch[T string | []byte](b *testing.B, s Spelling, ts *[len(benchAddrs)]T) {
	n := 0
	for i := 0; i < b.N; i++ {
		if Match(s, ts[i%len(ts)]) {
			n++
		}
	}
	if n != b.N {
		b.Fatal(n)
	}
}
