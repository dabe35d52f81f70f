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

// benchAddrs are the first IPv4 client addresses of the bench's nginx input.
var benchAddrs = []string{"10.90.132.230", "218.52.60.105", "100.182.66.104", "88.214.203.6", "23.64.182.135", "92.12.102.57", "10.66.216.87", "27.1.197.137", "178.117.70.187", "96.243.59.34", "145.110.110.58", "176.58.204.191", "133.73.10.177", "200.113.95.206", "10.10.247.83", "190.101.33.53", "95.166.192.191", "199.108.31.222", "65.113.50.253", "147.116.142.197", "10.222.63.10", "64.240.4.177", "27.206.95.103", "12.210.194.179", "10.235.69.40", "161.246.211.105", "126.208.179.83", "140.88.109.69", "134.47.214.252", "10.45.208.140", "62.119.193.219", "10.43.81.216"}

func BenchmarkMatch(b *testing.B) {
	bs := make([][]byte, len(benchAddrs))
	for i, s := range benchAddrs {
		bs[i] = []byte(s)
	}
	b.Run("Canonical", func(b *testing.B) {
		n := 0
		for i := 0; i < b.N; i++ {
			if Match(Canonical, benchAddrs[i%len(benchAddrs)]) {
				n++
			}
		}
		if n != b.N {
			b.Fatal(n)
		}
	})
	b.Run("LeadingZeros", func(b *testing.B) {
		n := 0
		for i := 0; i < b.N; i++ {
			if Match(LeadingZeros, bs[i%len(bs)]) {
				n++
			}
		}
		if n != b.N {
			b.Fatal(n)
		}
	})
}
