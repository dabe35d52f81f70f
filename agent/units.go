package agent

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

var byteUnits = []struct {
	suffix string
	mult   int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
	{"B", 1},
}

// ParseBytes reads a size such as "512MiB", "1GiB", "100KB" or "4096".
func ParseBytes(s string) (int64, error) {
	t := strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range byteUnits {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseFloat(t, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q is not a size; write a number with a unit such as 512MiB or 1GiB", s)
	}
	return int64(n * float64(mult)), nil
}

// FormatBytes writes a size as ParseBytes reads it: "512 B", "1.5 MiB".
func FormatBytes(n int64) string {
	if n < 1<<10 {
		return strconv.FormatInt(n, 10) + " B"
	}
	f, i := float64(n)/(1<<10), 0
	for ; f >= 1<<10 && i < 3; i++ {
		f /= 1 << 10
	}
	return strconv.FormatFloat(f, 'f', 1, 64) + " " + byteUnits[i].suffix
}

// DurationAttrs returns a parser for the duration attributes of a config's
// Validate method: each call parses one attribute into out, or appends an
// AttrError (with the hint) to errs.
//
//	dur := agent.DurationAttrs(&errs)
//	dur("poll_interval", c.PollInterval, &c.poll)
func DurationAttrs(errs *[]error) func(attr, s string, out *time.Duration) {
	return func(attr, s string, out *time.Duration) {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			*errs = append(*errs, AttrErrorf(attr, `Write a positive duration such as "500ms", "5s" or "2m".`, "%q is not a duration", s))
			return
		}
		*out = d
	}
}
