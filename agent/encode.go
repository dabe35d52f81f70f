package agent

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// AppendJSON appends the wire form of r (see docs/record.md) to dst, with no
// reflection. Map keys are written in sorted order, so the same record
// always encodes to the same bytes.
func AppendJSON(dst []byte, r *Record) []byte {
	dst = append(dst, `{"id":"`...)
	dst = append(dst, r.EnsureID()...)
	dst = append(dst, `","time":"`...)
	dst = appendRFC3339(dst, r.Time.Unix(), int32(r.Time.Nanosecond()))
	dst = append(dst, `","kind":`...)
	kind := r.Kind
	if kind == "" {
		kind = KindRaw
	}
	dst = AppendString(dst, kind)
	if len(r.Entity) > 0 {
		dst = append(dst, `,"entity":[`...)
		for i, kv := range r.Entity {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"key":`...)
			dst = AppendString(dst, kv.Key)
			dst = append(dst, `,"value":`...)
			dst = AppendString(dst, kv.Value)
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	dst = append(dst, `,"fields":`...)
	dst = r.AppendFieldsJSON(dst)
	dst = append(dst, `,"origin":`...)
	dst = appendOrigin(dst, &r.Origin)
	return append(dst, '}')
}

// AppendFieldsJSON appends the record's fields as a JSON object: the typed
// fields, the fields map, or {"message": Raw} for a line no step parsed.
func (r *Record) AppendFieldsJSON(dst []byte) []byte {
	switch {
	case r.typed != nil:
		return r.typed.appendJSON(dst)
	case r.Fields != nil:
		return AppendValue(dst, r.Fields)
	}
	dst = append(dst, `{"message":`...)
	dst = appendStringBytes(dst, r.Raw)
	return append(dst, '}')
}

func appendOrigin(dst []byte, o *Origin) []byte {
	dst = append(dst, `{"host":`...)
	dst = AppendString(dst, o.Host)
	dst = append(dst, `,"component":`...)
	dst = AppendString(dst, o.Component)
	dst = append(dst, `,"stream":`...)
	dst = AppendString(dst, o.Stream)
	dst = append(dst, `,"offset":`...)
	dst = strconv.AppendInt(dst, o.Offset, 10)
	if o.Rule != "" {
		dst = append(dst, `,"rule":`...)
		dst = AppendString(dst, o.Rule)
		dst = append(dst, `,"index":`...)
		dst = strconv.AppendInt(dst, int64(o.Index), 10)
	}
	if o.Path != "" {
		dst = append(dst, `,"path":`...)
		dst = AppendString(dst, o.Path)
	}
	if o.Device != 0 || o.Inode != 0 {
		dst = append(dst, `,"device":`...)
		dst = strconv.AppendUint(dst, o.Device, 10)
		dst = append(dst, `,"inode":`...)
		dst = strconv.AppendUint(dst, o.Inode, 10)
	}
	if o.Topic != "" {
		dst = append(dst, `,"topic":`...)
		dst = AppendString(dst, o.Topic)
		dst = append(dst, `,"partition":`...)
		dst = strconv.AppendInt(dst, int64(o.Partition), 10)
	}
	return append(dst, '}')
}

// AppendValue appends a JSON-shaped value. Types outside the JSON shape are
// written through encoding/json as a fallback.
func AppendValue(dst []byte, v any) []byte {
	switch t := v.(type) {
	case nil:
		return append(dst, "null"...)
	case string:
		return AppendString(dst, t)
	case bool:
		return strconv.AppendBool(dst, t)
	case int64:
		return strconv.AppendInt(dst, t, 10)
	case int:
		return strconv.AppendInt(dst, int64(t), 10)
	case int32:
		return strconv.AppendInt(dst, int64(t), 10)
	case uint64:
		return strconv.AppendUint(dst, t, 10)
	case float64:
		return appendFloat(dst, t)
	case float32:
		return appendFloat(dst, float64(t))
	case time.Time:
		dst = append(dst, '"')
		dst = appendRFC3339(dst, t.Unix(), int32(t.Nanosecond()))
		return append(dst, '"')
	case time.Duration:
		return AppendString(dst, t.String())
	case []byte:
		dst = append(dst, '"')
		dst = base64.StdEncoding.AppendEncode(dst, t)
		return append(dst, '"')
	case map[string]any:
		dst = append(dst, '{')
		var keysBuf [16]string
		keys := keysBuf[:0]
		for k := range t {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = AppendString(dst, k)
			dst = append(dst, ':')
			dst = AppendValue(dst, t[k])
		}
		return append(dst, '}')
	case []any:
		dst = append(dst, '[')
		for i, e := range t {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = AppendValue(dst, e)
		}
		return append(dst, ']')
	case []string:
		dst = append(dst, '[')
		for i, e := range t {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = AppendString(dst, e)
		}
		return append(dst, ']')
	default:
		b, err := json.Marshal(t)
		if err != nil {
			return AppendString(dst, "!unencodable: "+err.Error())
		}
		return append(dst, b...)
	}
}

func appendFloat(dst []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, "null"...)
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	return strconv.AppendFloat(dst, f, format, -1, 64)
}

const hexDigits = "0123456789abcdef"

// safe[b] is true for ASCII bytes that need no escaping in a JSON string.
var safe = func() (t [utf8.RuneSelf]bool) {
	for i := 0x20; i < utf8.RuneSelf; i++ {
		t[i] = i != '"' && i != '\\'
	}
	return
}()

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// plainWord reports whether 8 bytes need no escaping: all ASCII, none below
// 0x20, no '"' and no '\\'.
func plainWord(x uint64) bool {
	zero := func(v uint64) uint64 { return (v - lsb) & ^v & msb }
	special := x | ((x - 0x20*lsb) & ^x) | zero(x^('"'*lsb)) | zero(x^('\\'*lsb))
	return special&msb == 0
}

// AppendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		// Skip 8 plain bytes at a time: most log text needs no escaping.
		for i+8 <= len(s) && plainWord(binary.LittleEndian.Uint64([]byte(s[i:i+8]))) {
			i += 8
		}
		if i >= len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if safe[c] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			dst = appendEscape(dst, c)
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\u202`...)
			dst = append(dst, hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

func appendStringBytes(dst []byte, b []byte) []byte {
	// The conversion does not allocate: AppendString does not keep s.
	return AppendString(dst, unsafeString(b))
}

func appendEscape(dst []byte, c byte) []byte {
	switch c {
	case '"', '\\':
		return append(dst, '\\', c)
	case '\n':
		return append(dst, '\\', 'n')
	case '\r':
		return append(dst, '\\', 'r')
	case '\t':
		return append(dst, '\\', 't')
	}
	return append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
}

// WireRecord is the decoded wire form, for tests and tools that read what
// the agent wrote.
type WireRecord struct {
	ID     string         `json:"id"`
	Time   time.Time      `json:"time"`
	Kind   string         `json:"kind"`
	Entity []WireKV       `json:"entity,omitempty"`
	Fields map[string]any `json:"fields"`
	Origin WireOrigin     `json:"origin"`
}

// WireKV is one entity pair in the wire form.
type WireKV struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// WireOrigin is the origin in the wire form.
type WireOrigin struct {
	Host      string `json:"host"`
	Component string `json:"component"`
	Stream    string `json:"stream"`
	Offset    int64  `json:"offset"`
	Rule      string `json:"rule,omitempty"`
	Index     int    `json:"index,omitempty"`
	Path      string `json:"path,omitempty"`
	Device    uint64 `json:"device,omitempty"`
	Inode     uint64 `json:"inode,omitempty"`
	Topic     string `json:"topic,omitempty"`
	Partition int32  `json:"partition,omitempty"`
}
