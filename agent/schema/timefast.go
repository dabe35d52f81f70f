package schema

import "time"

// commonLog is the time layout of nginx and Apache access logs.
const commonLog = "02/Jan/2006:15:04:05 -0700"

// parseCommonLog parses "21/Nov/2026:05:41:35 +0100" several times faster
// than time.Parse. ok is false for anything it does not recognise exactly
// (the caller then uses time.Parse, which also gives the error).
func parseCommonLog(s string) (time.Time, bool) {
	sec, off, ok := commonLogUnix(s)
	if !ok {
		return time.Time{}, false
	}
	return time.Unix(sec, 0).In(time.FixedZone("", off)), true
}

// commonLogUnix parses a common-log time to Unix seconds and the zone's
// offset in seconds, with no allocation.
func commonLogUnix(s string) (sec int64, off int, ok bool) {
	if len(s) != 26 || s[2] != '/' || s[6] != '/' || s[11] != ':' || s[14] != ':' || s[17] != ':' || s[20] != ' ' ||
		(s[21] != '+' && s[21] != '-') {
		return 0, 0, false
	}
	bad := false
	d2 := func(i int) int {
		a, b := s[i]-'0', s[i+1]-'0'
		if a > 9 || b > 9 {
			bad = true
		}
		return int(a)*10 + int(b)
	}
	day, year := d2(0), d2(7)*100+d2(9)
	hh, mm, ss := d2(12), d2(15), d2(18)
	zh, zm := d2(22), d2(24)
	mon := monthOf(s[3], s[4], s[5])
	if bad || mon == 0 || day < 1 || day > daysIn(mon, year) || hh > 23 || mm > 59 || ss > 59 || zm > 59 {
		return 0, 0, false
	}
	off = (zh*60 + zm) * 60
	if s[21] == '-' {
		off = -off
	}
	sec = daysFromCivil(year, mon, day)*86400 + int64(hh*3600+mm*60+ss) - int64(off)
	return sec, off, true
}

// monthOf returns 1 to 12 for "Jan" to "Dec", else 0.
func monthOf(a, b, c byte) int {
	switch string([]byte{a, b, c}) {
	case "Jan":
		return 1
	case "Feb":
		return 2
	case "Mar":
		return 3
	case "Apr":
		return 4
	case "May":
		return 5
	case "Jun":
		return 6
	case "Jul":
		return 7
	case "Aug":
		return 8
	case "Sep":
		return 9
	case "Oct":
		return 10
	case "Nov":
		return 11
	case "Dec":
		return 12
	}
	return 0
}

func daysIn(mon, year int) int {
	switch mon {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil returns the days from 1970-01-01 to a proleptic Gregorian
// date (Howard Hinnant's algorithm).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

// ParseCommonLogUTC parses a common-log time ("21/Nov/2026:05:41:35
// +0000") with a zero offset to the instant in UTC, as
// time.ParseInLocation(commonLog, s, time.UTC) gives it, with no
// allocation. ok is false for anything else (another offset, a time it
// does not recognise exactly): the caller then uses time.ParseInLocation.
func ParseCommonLogUTC(s string) (t time.Time, ok bool) {
	sec, off, ok := commonLogUnix(s)
	if !ok || off != 0 {
		return time.Time{}, false
	}
	return time.Unix(sec, 0).UTC(), true
}
