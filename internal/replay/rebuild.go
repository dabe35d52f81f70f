// Package replay runs dead letters again through the transform that
// rejected them (`octoagent replay`). A dead letter carries the raw line,
// the time and entity it was read with and its origin, and a record's id is
// derived from its origin: so Rebuild gives back the very record the source
// emitted on the first read, and what the transform makes of it now has the
// ids it would have had if the rule had been right from the start.
package replay

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/octostore/agent/agent"
)

// Reasons of the per-record errors, stable (they label the summary).
const (
	ReasonNotDeadLetter    = "not_a_dead_letter"
	ReasonNotTransform     = "not_from_a_transform"
	ReasonNoRaw            = "no_raw_line"
	ReasonNotRaw           = "input_not_raw"
	ReasonBadOrigin        = "bad_origin"
	ReasonUnknownTransform = "unknown_transform"
)

// Error is why one dead letter cannot be replayed.
type Error struct {
	Reason string // one of the Reason constants
	Msg    string
}

func (e *Error) Error() string { return e.Msg }

func errorf(reason, format string, args ...any) *Error {
	return &Error{Reason: reason, Msg: fmt.Sprintf(format, args...)}
}

// Rebuild returns the record that the transform named by dead letter dl was
// given when the line was first read, and that transform's id. The record
// is raw (its line in Raw) with dl's time, entity and origin, the origin's
// rule and index put back as they were before the transform derived them.
// Only dead letters a transform made from a raw line can be rebuilt: a
// source's (a cut line) or a sink's (a record the store refused) cannot,
// nor one whose input a transform before it had already typed.
func Rebuild(dl *agent.Record) (agent.Record, string, error) {
	w := wireDeadLetter{Time: dl.Time, Kind: dl.Kind, Origin: dl.Origin, ID: dl.EnsureID()}
	w.Fields.Component, _ = fieldString(dl, "component")
	if s, ok := fieldString(dl, "raw"); ok {
		w.Fields.Raw, w.Fields.HasRaw = []byte(s), true
	}
	if s, ok := fieldString(dl, "kind"); ok {
		w.Fields.Kind = &s
	}
	return w.rebuild(dl.Entity)
}

// Decode reads one dead letter in the wire form (a line a file or stdout
// sink wrote, a Kafka message a kafka sink wrote) and rebuilds its input as
// Rebuild does.
func Decode(line []byte) (agent.Record, string, error) {
	var d Decoder
	return d.Decode(line)
}

// Decoder reads dead letters in the wire form. It reads only what the
// rebuild needs and skips the rest (the parsed fields, the errors) without
// building it; reads a short plain string (most keys and values) in one
// byte loop, a long one with memchr, and the raw line in one pass eight
// bytes at a time into slabs; and reuses the strings that repeat from one
// dead letter to the next (host, component, stream, path): decoding is
// most of what a replay costs beyond the rule itself. FuzzDecode holds it to agent.ParseJSON. The zero Decoder is
// ready; it is not safe for concurrent use.
type Decoder struct {
	host, component, stream, rule, path, topic, comp, kind string
	key, str                                               []byte // reused
	slab                                                   []byte // of the raw lines
	timeText                                               []byte
	time                                                   time.Time
}

// slabSize is the size of the slabs the raw lines are unescaped into.
const slabSize = 32 << 10

// Decode reads one dead letter and rebuilds its input (see Rebuild).
func (d *Decoder) Decode(line []byte) (agent.Record, string, error) {
	var w wireDeadLetter
	var ent []agent.KV
	s := &scanner{b: line}
	str := func() []byte { // the next string value, unescaped, valid until the next call
		if q, ok := s.short(false); ok {
			return q
		}
		q := s.quoted()
		if bytes.IndexByte(q, '\\') < 0 && utf8.Valid(q) {
			return q // as written: no copy
		}
		d.str = s.unquoted(d.str[:0], q)
		return d.str
	}
	isString := func() bool { s.ws(); return s.i < len(s.b) && s.b[s.i] == '"' }
	s.object(d, true, func(key []byte) {
		switch string(key) {
		case "time":
			// Dead letters of one batch share their read time: parse it once.
			if b := str(); !bytes.Equal(b, d.timeText) || d.timeText == nil {
				t, err := time.Parse(time.RFC3339Nano, string(b))
				if err != nil {
					s.fail("time: " + err.Error())
				}
				d.time, d.timeText = t.UTC(), append(d.timeText[:0], b...)
			}
			w.Time = d.time
		case "kind":
			w.Kind = intern(&d.kind, str())
		case "entity":
			s.array(func() {
				var kv agent.KV
				s.object(d, true, func(k []byte) {
					switch string(k) {
					case "key":
						kv.Key = string(str())
					case "value":
						kv.Value = string(str())
					default:
						s.skip(0)
					}
				})
				ent = append(ent, kv)
			})
		case "fields":
			s.object(d, false, func(k []byte) { // a map: keys as written
				if !isString() {
					s.skip(0)
					return
				}
				switch string(k) {
				case "component":
					w.Fields.Component = intern(&d.comp, str())
				case "raw":
					// Unescaped into a slab shared with the next lines':
					// one allocation per 32 KiB, not per line. The line's
					// capacity ends with it, so an append copies.
					var out []byte
					start := 0
					if most := 3 * (len(s.b) - s.i); most <= slabSize {
						// In one pass, into room for the most it can make.
						if cap(d.slab)-len(d.slab) < most {
							d.slab = make([]byte, 0, slabSize)
						}
						start = len(d.slab)
						if out = s.unquoteTo(d.slab); s.err != nil {
							return
						}
					} else {
						// A long line: its end first, for the room it needs.
						q := s.quoted()
						if s.err != nil {
							return
						}
						if cap(d.slab)-len(d.slab) < len(q) {
							d.slab = make([]byte, 0, max(len(q), slabSize))
						}
						start = len(d.slab)
						var ok bool
						if out, ok = unquote(d.slab, q); !ok {
							s.fail("bad escape in a string")
							return
						}
					}
					d.slab = out
					w.Fields.Raw, w.Fields.HasRaw = out[start:len(out):len(out)], true
				case "kind":
					k := string(str())
					w.Fields.Kind = &k
				default:
					s.skip(0)
				}
			})
		case "origin":
			o := &w.Origin
			s.object(d, true, func(k []byte) {
				switch string(k) {
				case "host":
					o.Host = intern(&d.host, str())
				case "component":
					o.Component = intern(&d.component, str())
				case "stream":
					o.Stream = intern(&d.stream, str())
				case "offset":
					o.Offset = s.int(64)
				case "rule":
					o.Rule = intern(&d.rule, str())
				case "index":
					o.Index = int(s.int(strconv.IntSize))
				case "path":
					o.Path = intern(&d.path, str())
				case "device":
					o.Device = s.uint()
				case "inode":
					o.Inode = s.uint()
				case "topic":
					o.Topic = intern(&d.topic, str())
				case "partition":
					o.Partition = int32(s.int(32))
				default:
					s.skip(0)
				}
			})
		default:
			s.skip(0)
		}
	})
	if s.err != nil {
		return agent.Record{}, "", errorf(ReasonNotDeadLetter, "not a JSON record: %v", s.err)
	}
	return w.rebuild(ent)
}

// scanner walks one JSON value in b. The first error stops it (every later
// read gives nothing) and stays in err.
type scanner struct {
	b   []byte
	i   int
	err error
}

func (s *scanner) fail(msg string) {
	if s.err == nil {
		s.err = fmt.Errorf("%s (at byte %d)", msg, s.i)
	}
	s.i = len(s.b)
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// next skips white space and reports whether the next byte is c (and
// consumes it if so).
func (s *scanner) next(c byte) bool {
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// quoted returns the next string as written, without its quotes.
func (s *scanner) quoted() []byte {
	if !s.next('"') {
		s.fail("expects a string")
		return nil
	}
	start, j := s.i, s.i
	for {
		k := bytes.IndexByte(s.b[j:], '"')
		if k < 0 {
			s.fail("unterminated string")
			return nil
		}
		q := j + k
		n := 0 // backslashes before the quote: an odd number escapes it
		for p := q - 1; p >= start && s.b[p] == '\\'; p-- {
			n++
		}
		if n%2 == 0 {
			s.i = q + 1
			return s.b[start:q]
		}
		j = q + 1
	}
}

// shortString is how far short looks for the end of a string.
const shortString = 64

// short reads the next string if it is short (up to shortString bytes)
// and needs no unescaping or checking: ASCII, no escape, and with fold no
// upper-case letter. Found in one pass, without the calls quoted,
// unquote and plainKey make, it is what most keys and values of a dead
// letter are. Otherwise it reports false and leaves the string unread.
func (s *scanner) short(fold bool) ([]byte, bool) {
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return nil, false
	}
	start := s.i + 1
	for j := start; j < len(s.b) && j <= start+shortString; j++ {
		switch c := s.b[j]; {
		case c == '"':
			s.i = j + 1
			return s.b[start:j], true
		case c == '\\' || c >= utf8.RuneSelf || fold && 'A' <= c && c <= 'Z':
			return nil, false
		}
	}
	return nil, false
}

// unquoted appends string q (as written, the scanner's last), unescaped,
// to dst.
func (s *scanner) unquoted(dst, q []byte) []byte {
	if s.err != nil {
		return dst
	}
	out, ok := unquote(dst, q)
	if !ok {
		s.fail("bad escape in a string")
	}
	if out == nil {
		out = []byte{} // an empty line is a line
	}
	return out
}

// object reads an object, calling f with each key (unescaped; valid during
// the call), the scanner at its value, which f must read or skip.
//
// With d set, keys are unescaped into d.key; with fold too, folded as
// encoding/json matches struct fields (as agent.ParseJSON reads every
// object but fields, a map): case-insensitively.
func (s *scanner) object(d *Decoder, fold bool, f func(key []byte)) {
	if !s.next('{') {
		s.fail("expects an object")
		return
	}
	if s.next('}') {
		return
	}
	for s.err == nil {
		k, plain := s.short(fold)
		if !plain {
			k = s.quoted()
		}
		if d != nil && !plain && !plainKey(k, fold) {
			var ok bool
			if d.key, ok = unquote(d.key[:0], k); !ok {
				s.fail("bad escape in a key")
			}
			k = d.key
			if fold {
				k = foldKey(k)
			}
		}
		if !s.next(':') {
			s.fail("expects a colon")
			return
		}
		f(k)
		if s.next(',') {
			continue
		}
		if !s.next('}') {
			s.fail("expects a comma or the end of the object")
		}
		return
	}
}

// array reads an array, calling f at each value, which f must read.
func (s *scanner) array(f func()) {
	if !s.next('[') {
		s.fail("expects an array")
		return
	}
	if s.next(']') {
		return
	}
	for s.err == nil {
		f()
		if s.next(',') {
			continue
		}
		if !s.next(']') {
			s.fail("expects a comma or the end of the array")
		}
		return
	}
}

// token returns the next number or literal as written.
func (s *scanner) token() []byte {
	s.ws()
	start := s.i
	for s.i < len(s.b) {
		c := s.b[s.i]
		if c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' || c == '+' || c == '.' {
			s.i++
			continue
		}
		break
	}
	if s.i == start {
		s.fail("expects a value")
	}
	return s.b[start:s.i]
}

func (s *scanner) int(bits int) int64 {
	t := s.token()
	n, err := strconv.ParseInt(string(t), 10, bits)
	if err != nil && s.err == nil {
		s.fail("expects an integer")
	}
	return n
}

func (s *scanner) uint() uint64 {
	t := s.token()
	n, err := strconv.ParseUint(string(t), 10, 64)
	if err != nil && s.err == nil {
		s.fail("expects an unsigned integer")
	}
	return n
}

// plainKey reports whether key k (as written) is already what unquoting
// and folding would make of it: no escape, ASCII, and lower case if fold.
func plainKey(k []byte, fold bool) bool {
	for _, c := range k {
		if c == '\\' || c >= utf8.RuneSelf || fold && 'A' <= c && c <= 'Z' {
			return false
		}
	}
	return true
}

// foldKey folds k in place as encoding/json folds field names, for the
// names of ASCII letters this decoder looks for: ASCII to lower case, and
// the two other runes that fold to an ASCII letter (U+017F to s, U+212A
// to k).
func foldKey(k []byte) []byte {
	ascii := true
	for i, c := range k {
		if c >= utf8.RuneSelf {
			ascii = false
			break
		}
		if 'A' <= c && c <= 'Z' {
			k[i] = c + 'a' - 'A'
		}
	}
	if ascii {
		return k
	}
	k = bytes.ReplaceAll(k, []byte("\u017f"), []byte("s"))
	k = bytes.ReplaceAll(k, []byte("\u212a"), []byte("k"))
	return bytes.ToLower(k)
}

// maxDepth bounds the nesting skip follows, as encoding/json does.
const maxDepth = 10000

// skip reads past the next value.
func (s *scanner) skip(depth int) {
	if depth > maxDepth {
		s.fail("nested too deep")
		return
	}
	s.ws()
	if s.i >= len(s.b) {
		s.fail("expects a value")
		return
	}
	switch s.b[s.i] {
	case '"':
		if _, ok := s.short(false); !ok {
			s.quoted()
		}
	case '{':
		s.object(nil, false, func([]byte) { s.skip(depth + 1) })
	case '[':
		s.array(func() { s.skip(depth + 1) })
	default:
		t := s.token()
		if s.err == nil && !validLiteral(t) {
			s.fail("expects a value")
		}
	}
}

func validLiteral(t []byte) bool {
	switch string(t) {
	case "true", "false", "null":
		return true
	}
	_, err := strconv.ParseFloat(string(t), 64)
	return err == nil || errors.Is(err, strconv.ErrRange)
}

// intern returns b as a string, the one in *slot if it is the same.
func intern(slot *string, b []byte) string {
	if string(b) != *slot {
		*slot = string(b)
	}
	return *slot
}

// unquote appends the JSON string content q (without its quotes) to dst,
// unescaped as encoding/json does: a lone surrogate or a byte that is not
// UTF-8 becomes U+FFFD. Runs without escapes are copied whole.
func unquote(dst, q []byte) ([]byte, bool) {
	start := len(dst)
	for {
		i := bytes.IndexByte(q, '\\')
		if i < 0 {
			dst = append(dst, q...)
			if !utf8.Valid(dst[start:]) {
				dst = append(dst[:start], validUTF8(dst[start:])...)
			}
			return dst, true
		}
		dst = append(dst, q[:i]...)
		var n int
		var ok bool
		if dst, n, ok = unescape(dst, q[i:]); !ok {
			return dst, false
		}
		q = q[i+n:]
	}
}

// unescape appends the escape at the start of q (a backslash) to dst,
// unescaped as encoding/json does, and returns how many bytes of q it
// took. An escape makes ASCII or whole UTF-8 runes, never a byte that
// would continue a rune begun before it: what is around it can be checked
// as UTF-8 apart.
func unescape(dst, q []byte) ([]byte, int, bool) {
	if len(q) < 2 {
		return dst, 0, false
	}
	switch c := q[1]; c {
	case '"', '\\', '/':
		return append(dst, c), 2, true
	case 'b':
		return append(dst, '\b'), 2, true
	case 'f':
		return append(dst, '\f'), 2, true
	case 'n':
		return append(dst, '\n'), 2, true
	case 'r':
		return append(dst, '\r'), 2, true
	case 't':
		return append(dst, '\t'), 2, true
	case 'u':
		r, ok := hex4(q[2:])
		if !ok {
			return dst, 0, false
		}
		n := 6
		if utf16.IsSurrogate(r) {
			r2 := rune(-1)
			if len(q) >= 12 && q[6] == '\\' && q[7] == 'u' {
				r2, _ = hex4(q[8:])
			}
			if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
				n, r = 12, dec
			} else {
				r = utf8.RuneError
			}
		}
		return utf8.AppendRune(dst, r), n, true
	}
	return dst, 0, false
}

// unquoteTo reads the next string and appends it to dst, unescaped as
// unquote does, in one pass that finds its end as it goes: eight bytes at
// a time while they hold no quote, backslash or byte past ASCII. It is how
// the raw line, the one long string of a dead letter, is read. What it
// appends is at most three times what it reads (a byte that is not UTF-8
// becomes the three of U+FFFD).
func (s *scanner) unquoteTo(dst []byte) []byte {
	if !s.next('"') {
		s.fail("expects a string")
		return dst
	}
	b, i := s.b, s.i
	for {
		j := i
		for ; j+8 <= len(b); j += 8 {
			if m := special(binary.LittleEndian.Uint64(b[j:])); m != 0 {
				j += bits.TrailingZeros64(m) >> 3
				break
			}
		}
		for j < len(b) && b[j] != '"' && b[j] != '\\' && b[j] < utf8.RuneSelf {
			j++
		}
		dst = append(dst, b[i:j]...)
		i = j
		if i >= len(b) {
			s.fail("unterminated string")
			return dst
		}
		switch c := b[i]; {
		case c == '"':
			s.i = i + 1
			return dst
		case c == '\\':
			var n int
			var ok bool
			if dst, n, ok = unescape(dst, b[i:]); !ok {
				s.i = i
				s.fail("bad escape in a string")
				return dst
			}
			i += n
		default: // past ASCII: a rune, or a byte that is not UTF-8
			r, n := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && n == 1 {
				dst = utf8.AppendRune(dst, utf8.RuneError)
			} else {
				dst = append(dst, b[i:i+n]...)
			}
			i += n
		}
	}
}

// special has the top bit set in each byte of w (little-endian) that is a
// quote, a backslash or past ASCII; the lowest is exact, the others may
// not be (a zero byte's borrow).
func special(w uint64) uint64 {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	zero := func(x uint64) uint64 { return (x - lo) &^ x & hi }
	return zero(w^(lo*'"')) | zero(w^(lo*'\\')) | w&hi
}

// validUTF8 replaces each byte of b that is not part of valid UTF-8 with
// U+FFFD, as encoding/json does.
func validUTF8(b []byte) []byte {
	out := make([]byte, 0, len(b)+8)
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n == 1 {
			out = utf8.AppendRune(out, utf8.RuneError)
		} else {
			out = append(out, b[:n]...)
		}
		b = b[n:]
	}
	return out
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// wireDeadLetter is what a replay reads of a dead letter.
type wireDeadLetter struct {
	ID     string
	Time   time.Time
	Kind   string
	Fields struct {
		Raw       []byte
		HasRaw    bool
		Component string
		Kind      *string
	}
	Origin agent.Origin
}

// id is the dead letter's id, for messages: Decode does not read it, it is
// computed from the origin as the encoder computed it.
func (w *wireDeadLetter) id() string {
	if w.ID == "" {
		w.ID = w.Origin.ComputeID()
	}
	return w.ID
}

func (w *wireDeadLetter) rebuild(entity []agent.KV) (agent.Record, string, error) {
	if w.Kind != agent.KindDeadLetter {
		if w.Kind == "" {
			return agent.Record{}, "", errorf(ReasonNotDeadLetter, `not a record: no "kind"`)
		}
		return agent.Record{}, "", errorf(ReasonNotDeadLetter, "not a dead letter: kind is %q", w.Kind)
	}
	comp := w.Fields.Component
	if !strings.HasPrefix(comp, "transform.") {
		if comp == "" {
			return agent.Record{}, "", errorf(ReasonNotDeadLetter, `dead letter %s has no "component" field`, w.id())
		}
		return agent.Record{}, "", errorf(ReasonNotTransform, "dead letter %s was made by %s, not by a transform: there is no rule to run it through", w.id(), comp)
	}
	if !w.Fields.HasRaw {
		return agent.Record{}, "", errorf(ReasonNoRaw, `dead letter %s of %s has no "raw" line to run again`, w.id(), comp)
	}
	if k := w.Fields.Kind; k != nil && *k != agent.KindRaw {
		return agent.Record{}, "", errorf(ReasonNotRaw, "dead letter %s: %s was given a %q record, not a raw line: replay the dead letters of the transform that made it", w.id(), comp, *k)
	}
	o := w.Origin
	rule, index, err := inputRule(o.Rule, comp)
	if err != nil {
		return agent.Record{}, "", err
	}
	if rule != "" {
		return agent.Record{}, "", errorf(ReasonNotRaw, "dead letter %s: %s was given a record made by %s, not a raw line: replay the dead letters of that transform", w.id(), comp, rule)
	}
	o.Rule, o.Index = rule, index
	return agent.Record{Time: w.Time, Raw: w.Fields.Raw, Entity: entity, Origin: o}, comp, nil
}

// inputRule inverts agent.Origin.Derive: the rule and index the input of
// component comp had, from the rule of the dead letter comp made of it.
func inputRule(rule, comp string) (string, int, error) {
	prefix, ok := strings.CutSuffix(rule, ".dead_letter")
	if ok {
		prefix, ok = strings.CutSuffix(prefix, comp)
	}
	if !ok {
		return "", 0, errorf(ReasonBadOrigin, "origin.rule %q does not end in %q: the dead letter was edited or not made by %s", rule, comp+".dead_letter", comp)
	}
	if prefix == "" {
		return "", 0, nil
	}
	prefix, ok = strings.CutSuffix(prefix, ">")
	if !ok || prefix == "" {
		return "", 0, errorf(ReasonBadOrigin, "origin.rule %q is not a chain of rules", rule)
	}
	if strings.HasSuffix(prefix, "]") {
		if i := strings.LastIndexByte(prefix, '['); i > 0 {
			if n, err := strconv.Atoi(prefix[i+1 : len(prefix)-1]); err == nil && n > 0 {
				return prefix[:i], n, nil
			}
		}
	}
	return prefix, 0, nil
}

func fieldString(r *agent.Record, key string) (string, bool) {
	v, ok := r.Get(key)
	if !ok {
		return "", false
	}
	s, ok := v.(string)
	return s, ok
}
