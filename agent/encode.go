package agent

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
	"unsafe"
)

// AppendJSON appends the wire form of r (see docs/record.md) to dst, with no
// reflection. Map keys are written in sorted order, so the same record
// always encodes to the same bytes. Sinks that write many records keep an
// Encoder instead.
func AppendJSON(dst []byte, r *Record) []byte {
	e := Encoder{once: true}
	return e.Append(dst, r)
}

// Encoder writes the wire form of records, as AppendJSON does, reusing the
// encoded form of what repeats from one record to the next: the origin's
// strings and the key its ID hashes, the kind, the entity (the same
// slice), and the time last written (the records' and, apart, their
// fields'). The zero Encoder is ready; it is not safe for concurrent use.
type Encoder struct {
	kind    string
	kindEnc []byte

	// origin: `{"host":…,"component":…,"stream":…,"offset":` (head), then
	// `,"rule":…,"index":` (rule), then the descriptive tail with its `}`.
	host, component, stream, rule, path, topic string
	device, inode                              uint64
	partition                                  int32
	head, ruleEnc, tail                        []byte
	cached                                     bool
	// idKey is the ID key (appendIDKey) of the cached origin, whose
	// offset (at idOffset) and index (the last 8 bytes) are written
	// afresh for each record.
	idKey    []byte
	idOffset int

	// ent is the entity last written and entEnc its encoding: records of
	// one container (or file) share one entity slice, never changed in
	// place once emitted, so the same backing array encodes the same.
	// Holding the slice keeps the array from being reused by another.
	ent    []KV
	entEnc []byte

	times      timeCache // the records' times
	fieldTimes timeCache // the times among their fields
	keys       keyLayout // the typed fields' keys as written
	once       bool      // AppendJSON's: nothing to reuse, write everything directly

	paths pathLayout // the nested fields' steps
}

// timeCache keeps the time last written: the records of one read share
// their read time, and a log's own times their second.
type timeCache struct {
	sec   int64
	nsec  int32 // -1: the fraction is not written yet
	n     uint8 // bytes of enc in use
	valid bool
	enc   [len("2006-01-02T15:04:05.123456789Z")]byte
}

func (c *timeCache) append(dst []byte, t time.Time) []byte {
	sec, nsec := t.Unix(), int32(t.Nanosecond())
	if !c.valid || sec != c.sec {
		b := appendDateTime(c.enc[:0], sec)
		if len(b) != len("2006-01-02T15:04:05") { // a year out of 0001-9999
			c.valid = false
			return appendRFC3339(dst, sec, nsec)
		}
		c.sec, c.nsec, c.valid = sec, -1, true
	}
	if nsec != c.nsec {
		c.nsec, c.n = nsec, uint8(len(appendFracZ(c.enc[:len("2006-01-02T15:04:05")], nsec)))
	}
	return append(dst, c.enc[:c.n]...)
}

// keyLayout keeps the typed fields' keys as written, `"key":`, sorted as
// the fields are: parse steps key their fields with the schema's own name
// strings, so the keys of one rule's records are the same strings, and a
// key costs a pointer comparison and one 32-byte copy instead of an
// AppendString (9 of the 15 strings an nginx record writes: 5,000 -> 4,000
// instructions a record, BenchmarkEncoderTyped under callgrind). Records
// of other rules add their keys in order, up to maxLayoutKeys; a record
// walks the layout once, skipping the keys it does not have. As with
// pathLayout, keys are strings never written to (names from the config or
// a decoder's copies; values may view recycled memory, keys do not), so
// a key the layout holds keeps its bytes.
type keyLayout []keyEnc

// keyEnc is one key and its encoding (n bytes of enc; 0 when it does not
// fit and is written afresh each time).
type keyEnc struct {
	key string
	n   uint8
	enc [32]byte
}

// maxLayoutKeys bounds a layout: the keys past it are written afresh.
const maxLayoutKeys = 64

// append writes e's encoding.
func (e *keyEnc) append(dst []byte) []byte {
	n := len(dst)
	if cap(dst)-n < len(e.enc) {
		dst = slices.Grow(dst, len(e.enc))
	}
	*(*[len(e.enc)]byte)(dst[n : n+len(e.enc)]) = e.enc
	return dst[:n+int(e.n)]
}

// miss writes `"key":` for a key the layout does not have at *j: past the
// keys that sort before it (ones this record does not have, as most
// nginx records have no user), it is either there (its encoding copied:
// BenchmarkEncoderTypedMixed 3,915 -> 3,833 instructions a record), too
// long to keep, or added there. It moves *j past key.
func (l *keyLayout) miss(dst []byte, key string, j *int) []byte {
	for *j < len(*l) && (*l)[*j].key < key {
		*j++
	}
	if *j < len(*l) && (*l)[*j].key == key {
		e := &(*l)[*j]
		*j++
		if e.n == 0 { // too long to keep
			return append(AppendString(dst, key), ':')
		}
		return e.append(dst)
	}
	n := len(dst)
	dst = append(AppendString(dst, key), ':')
	if len(*l) < maxLayoutKeys {
		e := keyEnc{key: key}
		if len(dst)-n <= len(e.enc) {
			e.n = uint8(copy(e.enc[:], dst[n:]))
		}
		*l = slices.Insert(*l, *j, e)
		*j++
	}
	return dst
}

// Append appends the wire form of r to dst.
func (e *Encoder) Append(dst []byte, r *Record) []byte {
	if !e.once {
		e.cache(&r.Origin)
	}
	dst = append(dst, `{"id":"`...)
	switch {
	case r.ID != "":
		dst = append(dst, r.ID...)
	case e.once:
		dst = r.Origin.appendID(dst)
	default:
		o := &r.Origin
		binary.BigEndian.PutUint64(e.idKey[e.idOffset:], uint64(o.Offset))
		binary.BigEndian.PutUint64(e.idKey[len(e.idKey)-8:], uint64(o.Index))
		dst = appendIDHash(dst, e.idKey)
	}
	dst = append(dst, `","time":"`...)
	dst = e.times.append(dst, r.Time)
	dst = append(dst, `","kind":`...)
	kind := r.Kind
	if kind == "" {
		kind = KindRaw
	}
	switch {
	case e.once:
		dst = AppendString(dst, kind)
	case kind == e.kind && e.kindEnc != nil:
		dst = append(dst, e.kindEnc...)
	default:
		e.kind, e.kindEnc = kind, AppendString(e.kindEnc[:0], kind)
		dst = append(dst, e.kindEnc...)
	}
	switch {
	case len(r.Entity) == 0:
	case e.once:
		dst = appendEntity(dst, r.Entity)
	case len(r.Entity) == len(e.ent) && &r.Entity[0] == &e.ent[0]:
		dst = append(dst, e.entEnc...)
	default:
		e.ent, e.entEnc = r.Entity, appendEntity(e.entEnc[:0], r.Entity)
		dst = append(dst, e.entEnc...)
	}
	dst = append(dst, `,"fields":`...)
	switch {
	case r.typed != nil && r.paths && !e.once:
		dst = r.typed.appendNestedJSON(dst, &e.fieldTimes, &e.paths)
	case r.typed != nil && !e.once:
		dst = r.typed.appendFlatJSON(dst, &e.fieldTimes, &e.keys)
	case r.typed != nil:
		dst = r.typed.appendJSON(dst, &e.fieldTimes, r.paths)
	default:
		dst = r.AppendFieldsJSON(dst)
	}
	dst = append(dst, `,"origin":`...)
	dst = e.appendOrigin(dst, &r.Origin)
	return append(dst, '}')
}

// appendEntity writes `,"entity":[...]`.
func appendEntity(dst []byte, ent []KV) []byte {
	dst = append(dst, `,"entity":[`...)
	for i, kv := range ent {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"key":`...)
		dst = AppendString(dst, kv.Key)
		dst = append(dst, `,"value":`...)
		dst = AppendString(dst, kv.Value)
		dst = append(dst, '}')
	}
	return append(dst, ']')
}

// appendOrigin writes o, from the cached encodings (Append made them o's:
// they are remade only when its strings are not those of the previous
// record, the usual case being one file, one rule).
func (e *Encoder) appendOrigin(dst []byte, o *Origin) []byte {
	if e.once {
		dst = originHead(dst, o)
		dst = appendInt(dst, o.Offset)
		if o.Rule != "" {
			dst = originRule(dst, o)
			dst = appendInt(dst, int64(o.Index))
		}
		return originTail(dst, o)
	}
	dst = append(dst, e.head...)
	dst = appendInt(dst, o.Offset)
	if len(e.ruleEnc) > 0 {
		dst = append(dst, e.ruleEnc...)
		dst = appendInt(dst, int64(o.Index))
	}
	return append(dst, e.tail...)
}

// cache makes the cached encodings and ID key those of o, unless its
// strings are those of the origin they were made for.
func (e *Encoder) cache(o *Origin) {
	if e.cached && same(o.Host, e.host) && same(o.Component, e.component) && same(o.Stream, e.stream) &&
		same(o.Rule, e.rule) && same(o.Path, e.path) && same(o.Topic, e.topic) &&
		o.Device == e.device && o.Inode == e.inode && o.Partition == e.partition {
		return
	}
	e.host, e.component, e.stream, e.rule, e.path, e.topic = o.Host, o.Component, o.Stream, o.Rule, o.Path, o.Topic
	e.device, e.inode, e.partition = o.Device, o.Inode, o.Partition
	e.head = originHead(e.head[:0], o)
	e.ruleEnc = e.ruleEnc[:0]
	if o.Rule != "" {
		e.ruleEnc = originRule(e.ruleEnc, o)
	}
	e.tail = originTail(e.tail[:0], o)
	e.idKey, e.idOffset = appendIDKey(e.idKey[:0], o), idOffsetAt(o)
	e.cached = true
}

// same reports whether a == b, at once when they share their bytes (the
// strings of one source's records do).
func same(a, b string) bool {
	return SameData(a, b) || len(a) == len(b) && a == b
}

// SameData reports whether a and b are one string: the same bytes in
// memory, not only equal ones. Keys set from a schema's own name strings
// are told apart from others this way, without comparing bytes.
func SameData(a, b string) bool {
	return len(a) == len(b) && unsafe.StringData(a) == unsafe.StringData(b)
}

// originHead writes `{"host":…,"component":…,"stream":…,"offset":`.
func originHead(dst []byte, o *Origin) []byte {
	dst = append(dst, `{"host":`...)
	dst = AppendString(dst, o.Host)
	dst = append(dst, `,"component":`...)
	dst = AppendString(dst, o.Component)
	dst = append(dst, `,"stream":`...)
	dst = AppendString(dst, o.Stream)
	return append(dst, `,"offset":`...)
}

// originRule writes `,"rule":…,"index":`.
func originRule(dst []byte, o *Origin) []byte {
	dst = append(dst, `,"rule":`...)
	dst = AppendString(dst, o.Rule)
	return append(dst, `,"index":`...)
}

// originTail writes the descriptive position and the closing brace.
func originTail(dst []byte, o *Origin) []byte {
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

// AppendFieldsJSON appends the record's fields as a JSON object: the typed
// fields, the fields map, or {"message": Raw} for a line no step parsed.
func (r *Record) AppendFieldsJSON(dst []byte) []byte {
	switch {
	case r.typed != nil:
		return r.typed.appendJSON(dst, nil, r.paths)
	case r.fields != nil:
		return AppendValue(dst, r.fields)
	case r.extra != nil:
		return AppendValue(dst, r.rawMap(true))
	}
	dst = append(dst, `{"message":`...)
	dst = appendStringBytes(dst, r.Raw)
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
		return appendInt(dst, t)
	case int:
		return appendInt(dst, int64(t))
	case int32:
		return appendInt(dst, int64(t))
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

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// specialBytes marks, with the top bit of each byte, the bytes of x that
// need escaping or a UTF-8 check; the lowest marked byte is exactly the
// first such byte (borrows only spill into higher bytes).
func specialBytes(x uint64) uint64 {
	const quotes, backslashes = '"' * lsb, '\\' * lsb
	t := ((x - 0x20*lsb) | ((x ^ quotes) - lsb) | ((x ^ backslashes) - lsb)) & ^x
	return (t | x) & msb
}

// plainWord reports whether 8 bytes need no escaping: all ASCII, none below
// 0x20, no '"' and no '\\'. (x - n*lsb) & ^x & msb is non-zero exactly when
// some byte of x is below n (n <= 0x80); a byte equal to c is a zero byte of
// x^(c*lsb). The bytes with their top bit set are x & msb.
func plainWord(x uint64) bool { return specialBytes(x) == 0 }

// AppendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD;
// U+2028 and U+2029 are escaped.
//
// It copies 16 bytes at a time straight into dst's spare capacity
// (escapeBlocks), escaping quotes and backslashes on the way, so a log
// line costs one load, one store and a few vector operations per block,
// and a few more per quote. What escapeBlocks leaves (the last bytes,
// control characters, UTF-8) goes 8 bytes at a time, checked with
// specialBytes: at a word with a byte that needs a look, only the bytes
// before it count as written; that byte is escaped (or checked as UTF-8)
// and the copying goes on after it.
func AppendString(dst []byte, s string) []byte {
	// Room for the quotes, s as is and one word written past the end.
	n := len(dst)
	if cap(dst)-n < len(s)+stringSlack {
		dst = slices.Grow(dst, len(s)+stringSlack)
	}
	b := dst[:cap(dst)]
	b[n] = '"'
	n++
	// Up to 16 bytes (a method, an address, a protocol): two halves,
	// checked and stored whole (the second overlaps the first), without
	// the loop's bookkeeping (an nginx record's six strings: 1,230 -> 985
	// instructions).
	switch l := len(s); {
	case l == 0:
	case l < 4:
		if x := shortWord(s); specialBytes(x) == 0 {
			binary.LittleEndian.PutUint64(b[n:n+8], x)
			b[n+l] = '"'
			return b[:n+l+1]
		}
	case l <= 8:
		x, y := binary.LittleEndian.Uint32([]byte(s[:4])), binary.LittleEndian.Uint32([]byte(s[l-4:]))
		if specialBytes(uint64(x)|uint64(y)<<32) == 0 {
			binary.LittleEndian.PutUint32(b[n:n+4], x)
			binary.LittleEndian.PutUint32(b[n+l-4:n+l], y)
			b[n+l] = '"'
			return b[:n+l+1]
		}
	case l <= 16:
		x, y := binary.LittleEndian.Uint64([]byte(s[:8])), binary.LittleEndian.Uint64([]byte(s[l-8:]))
		if specialBytes(x)|specialBytes(y) == 0 {
			binary.LittleEndian.PutUint64(b[n:n+8], x)
			binary.LittleEndian.PutUint64(b[n+l-8:n+l], y)
			b[n+l] = '"'
			return b[:n+l+1]
		}
	}
	i := 0
	ahead := true // no byte needed a look in the last word: race ahead
	for {
		if ahead && len(s)-i >= 16 {
			// The room beyond s's unread bytes and what is left of the
			// slack (the opening quote took a byte of it) pays for the
			// quotes and backslashes escaped there.
			left := len(s) - i
			r, w := escapeBlocks(&b[n], unsafe.StringData(s[i:]), left, cap(b)-n-left-(stringSlack-1))
			i += r
			n += w
		}
		var x uint64
		left := len(s) - i
		switch {
		case left >= 8:
			x = binary.LittleEndian.Uint64([]byte(s[i : i+8]))
		case left == 0:
			b[n] = '"'
			return b[:n+1]
		case len(s) >= 8:
			// The last word of s, shifted down to its unread bytes, with
			// spaces (plain) above them.
			x = binary.LittleEndian.Uint64([]byte(s[len(s)-8:]))>>(8*(8-left)) | spaces<<(8*left)
		default:
			x = shortWord(s[i:])
		}
		binary.LittleEndian.PutUint64(b[n:n+8], x)
		m := specialBytes(x)
		if m == 0 {
			k := min(left, 8)
			i += k
			n += k
			ahead = true
			continue
		}
		ahead = false
		// The lowest marked byte is exactly the first that needs a look
		// (spaces never do, so it is one of s's).
		k := bits.TrailingZeros64(m) >> 3
		i += k
		n += k
		// An escape writes at most 6 bytes for each byte of s it replaces.
		if cap(b)-n < len(s)-i+stringSlack+6 {
			b = slices.Grow(b[:n], len(s)-i+stringSlack+6)
			b = b[:cap(b)]
		}
		c := s[i]
		if c < utf8.RuneSelf {
			// Stored whole (the room checked above covers 8 bytes).
			binary.LittleEndian.PutUint64(b[n:n+8], escapes[c])
			n += int(escapes[c] >> 56)
			i++
			continue
		}
		// A run of valid runes that need no escape is copied in one go.
		j := i
		for j < len(s) && s[j] >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[j:])
			if r == utf8.RuneError && size == 1 || r == '\u2028' || r == '\u2029' {
				break
			}
			j += size
		}
		if j > i {
			if j-i <= 8 && i+8 <= len(s) {
				// Stored whole (the room checked above covers 8 bytes).
				binary.LittleEndian.PutUint64(b[n:n+8], binary.LittleEndian.Uint64([]byte(s[i:i+8])))
				n += j - i
			} else {
				n += copy(b[n:], s[i:j])
			}
			i = j
			continue
		}
		// An invalid byte, or U+2028 or U+2029.
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError {
			n += copy(b[n:], `\ufffd`)
		} else {
			n += copy(b[n:], `\u202`)
			b[n] = hexDigits[r&0xF]
			n++
		}
		i += size
	}
}

// shortWord returns the 1 to 7 bytes of s as a word, the first lowest,
// with spaces (plain) above them. Short strings (a method, a protocol, a
// status word) are most of what a parsed record writes: the bytes are read
// with two overlapping loads (or three single bytes) rather than copied
// into a word on the stack and read back, which stalls the load on the
// copy's narrower stores.
func shortWord(s string) uint64 {
	n := len(s)
	var x uint64
	if n >= 4 {
		lo := uint64(binary.LittleEndian.Uint32([]byte(s[:4])))
		hi := uint64(binary.LittleEndian.Uint32([]byte(s[n-4:])))
		x = lo | hi<<(8*(n-4)) // the bytes both hold are the same
	} else {
		x = uint64(s[0]) | uint64(s[n>>1])<<(8*(n>>1)) | uint64(s[n-1])<<(8*(n-1))
	}
	return x | spaces<<(8*n)
}

// stringSlack is the room AppendString wants past s's own bytes: two
// quotes and a word stored whole past the end.
const stringSlack = 2 + 8

// spaces is 8 spaces, a word that needs no escaping.
const spaces = ' ' * lsb

// escapes[c] is how an ASCII byte that needs escaping is written in a JSON
// string: its bytes from the lowest, and their count in the top byte.
var escapes = func() (t [utf8.RuneSelf]uint64) {
	for c := range t {
		var e string
		switch c {
		case '"', '\\':
			e = string([]byte{'\\', byte(c)})
		case '\n':
			e = `\n`
		case '\r':
			e = `\r`
		case '\t':
			e = `\t`
		default:
			if c >= 0x20 {
				continue
			}
			e = string([]byte{'\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF]})
		}
		var w [8]byte
		copy(w[:], e)
		w[7] = byte(len(e))
		t[c] = binary.LittleEndian.Uint64(w[:])
	}
	return
}()

// appendInt appends v in decimal, as strconv.AppendInt(dst, v, 10) does.
// A record writes a few (its offset and index, a status, a size): below
// 10^16 they are written 8 digits at a time (dec8), stored as a word from
// their first non-zero digit, instead of strconv's two digits a step and
// a copy (an nginx record's four: 456 -> 304 instructions).
func appendInt(dst []byte, v int64) []byte {
	if v < 0 || v >= 1e16 {
		return strconv.AppendInt(dst, v, 10)
	}
	n := len(dst)
	if cap(dst)-n < 16 {
		dst = slices.Grow(dst, 16)
	}
	b := dst[:n+16]
	u := uint64(v)
	if u >= 1e8 {
		hi := dec8(u / 1e8) // not 0
		z := bits.TrailingZeros64(hi) >> 3
		binary.LittleEndian.PutUint64(b[n:], hi>>(8*z)+'0'*lsb)
		n += 8 - z
		u %= 1e8
		binary.LittleEndian.PutUint64(b[n:], dec8(u)+'0'*lsb)
		return b[:n+8]
	}
	x := dec8(u)
	z := min(bits.TrailingZeros64(x)>>3, 7) // leading zeros, "0" kept
	binary.LittleEndian.PutUint64(b[n:], x>>(8*z)+'0'*lsb)
	return b[:n+8-z]
}

// dec8 returns the 8 decimal digits of v < 10^8, the first in the lowest
// byte, as values 0-9: v split into 4-digit halves, one a 32-bit lane,
// then each lane into 2-digit halves and those into digits, dividing by
// 100 and by 10 as multiplications that are exact in these ranges and
// stay inside their lanes.
func dec8(v uint64) uint64 {
	x := v/10000 | v%10000<<32
	q := x * 10486 >> 20 & (0x7f | 0x7f<<32) // x / 100, lane by lane
	x = q | (x-q*100)<<16
	q = x * 103 >> 10 & (0xf * 0x0001000100010001) // x / 10
	return q | (x-q*10)<<8
}

// appendHex64 appends u's 16 hex digits, most significant first (what
// encoding/hex writes for u's big-endian bytes), 8 digits at a time: each
// byte of 4 spread to two nibbles, one a byte, then '0'+v, plus 'a'-'0'-10
// where v > 9 (v+6 carries into bit 4 exactly then).
func appendHex64(dst []byte, u uint64) []byte {
	return binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(dst, hex8(uint32(u>>32))), hex8(uint32(u)))
}

// hex8 returns the 8 hex digits of v, the first in the lowest byte.
func hex8(v uint32) uint64 {
	y := uint64(bits.ReverseBytes32(v)) // v's first byte lowest
	y = (y | y<<16) & 0x0000ffff0000ffff
	y = (y | y<<8) & 0x00ff00ff00ff00ff // byte j of v at bits 16j
	x := (y>>4)&0x000f000f000f000f | (y&0x000f000f000f000f)<<8
	return x + '0'*lsb + ((x+6*lsb)>>4&lsb)*('a'-'0'-10)
}

func appendStringBytes(dst []byte, b []byte) []byte {
	// The conversion does not allocate: AppendString does not keep s.
	return AppendString(dst, unsafeString(b))
}

// WireRecord is the decoded wire form, for tests and tools that read what
// the agent wrote.
type WireRecord struct {
	ID     string         `json:"id"`
	Time   time.Time      `json:"time"`
	Kind   string         `json:"kind"`
	Entity []WireKV       `json:"entity,omitempty"`
	Fields map[string]any `json:"fields"`
	Origin Origin         `json:"origin"`
}

// WireKV is one entity pair in the wire form.
type WireKV struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// ParseJSON reads one record in the wire form (a line a file or stdout
// sink wrote) back into a Record, the inverse of AppendJSON up to types:
// fields are normalized as the json step reads them (integral numbers are
// int64), and times stay strings, which encode the same. The ID is the one
// written, or computed from the origin when there is none. A line that is
// not a JSON object, or has no kind or no fields object, is an error.
func ParseJSON(data []byte) (Record, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var w struct {
		ID     string          `json:"id"`
		Time   *time.Time      `json:"time"`
		Kind   string          `json:"kind"`
		Entity []WireKV        `json:"entity"`
		Fields json.RawMessage `json:"fields"`
		Origin Origin          `json:"origin"`
	}
	if err := dec.Decode(&w); err != nil {
		return Record{}, fmt.Errorf("not a JSON record: %w", err)
	}
	if dec.More() {
		return Record{}, errors.New("not a JSON record: more than one value on the line")
	}
	if w.Kind == "" {
		return Record{}, errors.New(`not a record: no "kind"`)
	}
	fd := json.NewDecoder(bytes.NewReader(w.Fields))
	fd.UseNumber()
	var fields map[string]any
	if err := fd.Decode(&fields); err != nil || fields == nil {
		return Record{}, errors.New(`not a record: "fields" is not an object`)
	}
	r := Record{ID: w.ID, Kind: w.Kind, Origin: w.Origin}
	if w.Time != nil {
		r.Time = w.Time.UTC()
	}
	for _, kv := range w.Entity {
		r.Entity = append(r.Entity, KV(kv))
	}
	r.SetFields(Normalize(fields).(map[string]any))
	r.EnsureID()
	return r, nil
}
