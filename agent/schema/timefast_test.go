package schema

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

func TestParseCommonLogAgreesWithTimeParse(t *testing.T) {
	for _, s := range []string{
		"21/Nov/2026:05:41:35 +0100", "01/Jan/2000:00:00:00 -0000", "29/Feb/2024:23:59:59 -1130",
		"31/Dec/2026:12:00:00 +1400", "31/Feb/2026:12:00:00 +0000", "1/Nov/2026:05:41:35 +0100",
		"21/Nov/2026:25:41:35 +0100", "21/Xyz/2026:05:41:35 +0100", "21/Nov/2026:05:41:35 0100", "",
	} {
		want, werr := time.Parse(commonLog, s)
		got, ok := parseCommonLog(s)
		if ok && (werr != nil || !got.Equal(want)) {
			t.Errorf("%q: fast %v, time.Parse %v %v", s, got, want, werr)
		}
		if !ok && werr == nil && len(s) == 26 {
			t.Errorf("%q: fast parser refused what time.Parse takes", s)
		}
	}
}

// TestParseCommonLogRandomDates compares with time.Parse on random dates,
// days that do not exist included, and random zones. The fast parser may
// refuse what time.Parse takes (zone minutes above 59): the caller then
// uses time.Parse.
func TestParseCommonLogRandomDates(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	months := []string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec", "Xyz"}
	for range 300000 {
		s := fmt.Sprintf("%02d/%s/%04d:%02d:%02d:%02d %c%02d%02d", 1+rng.IntN(32), months[rng.IntN(len(months))],
			1+rng.IntN(9999), rng.IntN(25), rng.IntN(61), rng.IntN(61), "+-"[rng.IntN(2)], rng.IntN(15), rng.IntN(61))
		want, werr := time.Parse(commonLog, s)
		got, ok := parseCommonLog(s)
		if ok && werr != nil {
			t.Fatalf("%q: fast parser took what time.Parse refuses: %v", s, werr)
		}
		if ok {
			_, wo := want.Zone()
			_, go_ := got.Zone()
			if !got.Equal(want) || wo != go_ {
				t.Fatalf("%q: fast %v, time.Parse %v", s, got, want)
			}
		}
	}
}

func BenchmarkParseCommonLog(b *testing.B) {
	for i := 0; i < b.N; i++ {
		parseCommonLog("21/Nov/2026:05:41:35 +0100")
	}
}

// TestParseCommonLogUTCIsParseInLocation: on random dates at +0000 and
// -0000 the fast parser gives exactly what time.ParseInLocation gives in
// UTC (the same time.Time, location included), and refuses other offsets.
func TestParseCommonLogUTCIsParseInLocation(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	months := []string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec", "Xyz"}
	for range 200000 {
		zone := [...]string{"+0000", "-0000", "+0100", "-0030"}[rng.IntN(4)]
		s := fmt.Sprintf("%02d/%s/%04d:%02d:%02d:%02d %s", 1+rng.IntN(32), months[rng.IntN(len(months))],
			1+rng.IntN(9999), rng.IntN(25), rng.IntN(61), rng.IntN(61), zone)
		want, werr := time.ParseInLocation(commonLog, s, time.UTC)
		got, ok := ParseCommonLogUTC(s)
		switch {
		case ok && (werr != nil || got != want):
			t.Fatalf("%q: fast %#v, time.ParseInLocation %#v %v", s, got, want, werr)
		case ok && zone != "+0000" && zone != "-0000":
			t.Fatalf("%q: taken with a non-zero offset", s)
		case !ok && werr == nil && (zone == "+0000" || zone == "-0000"):
			t.Fatalf("%q: refused what time.ParseInLocation takes", s)
		}
	}
}
