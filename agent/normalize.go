package agent

import "encoding/json"

// Normalize puts a decoded value into the shape record fields hold:
// integral numbers as int64 and the others as float64, whether they come as
// json.Number (a decoder with UseNumber) or as int, int32, uint or float32
// (gojq's and expr's results), in place for maps and lists. Every path that
// decodes or computes fields (the json parse step, jq's output, expr's
// results, the disk buffer's codec, saved transform state) goes through it,
// so a value
// reads the same whichever path it took: "1" is int64(1), "1.0" and "1e3"
// are float64.
func Normalize(v any) any {
	n, _ := normalize(v)
	return n
}

// normalize returns v normalized, and whether that changed it. Maps and
// lists are normalized in place, and an entry is written only when its
// value changed: a map that is already in shape is only read, so records
// may share one (source "otlp" shares a request's resource map between
// its records) while several goroutines read it.
func normalize(v any) (any, bool) {
	switch t := v.(type) {
	case json.Number:
		if n, err := t.Int64(); err == nil {
			return n, true
		}
		f, _ := t.Float64()
		return f, true
	case int:
		return int64(t), true
	case int32:
		return int64(t), true
	case uint:
		return int64(t), true
	case float32:
		return float64(t), true
	case map[string]any:
		for k, e := range t {
			if n, changed := normalize(e); changed {
				t[k] = n
			}
		}
	case []any:
		for i, e := range t {
			if n, changed := normalize(e); changed {
				t[i] = n
			}
		}
	}
	return v, false
}
