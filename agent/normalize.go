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
	switch t := v.(type) {
	case json.Number:
		if n, err := t.Int64(); err == nil {
			return n
		}
		f, _ := t.Float64()
		return f
	case int:
		return int64(t)
	case int32:
		return int64(t)
	case uint:
		return int64(t)
	case float32:
		return float64(t)
	case map[string]any:
		for k, e := range t {
			t[k] = Normalize(e)
		}
		return t
	case []any:
		for i, e := range t {
			t[i] = Normalize(e)
		}
		return t
	}
	return v
}
