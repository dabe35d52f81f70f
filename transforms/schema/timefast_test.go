package schema

import (
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

func BenchmarkParseCommonLog(b *testing.B) {
	for i := 0; i < b.N; i++ {
		parseCommonLog("21/Nov/2026:05:41:35 +0100")
	}
}
