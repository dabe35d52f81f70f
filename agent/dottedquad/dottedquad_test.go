package dottedquad

import (
	"fmt"
	"net/netip"
	"regexp"
	"testing"
)

// Every number from 0 to 999, spelled with and without leading zeros, in
// every part, against netip (canonical) and Logstash's IPV4 as a Go
// regexp (leading zeros), and texts that are not four parts.
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
				n++
			}
		}
	}
	for _, s := range []string{"", "1.2.3", "1.2.3.4.5", "1..2.3", ".1.2.3", "1.2.3.", "1.2.3.4 ", "a.b.c.d", "1.2.3.1000", "::1"} {
		if Match(Canonical, s) || Match(LeadingZeros, s) {
			t.Errorf("%q matched", s)
		}
	}
	if n != 12000 {
		t.Fatalf("%d texts", n)
	}
}
