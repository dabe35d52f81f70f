package agent

import (
	"iter"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ValueKind is the type of a typed field value.
type ValueKind uint8

// The kinds of typed values: the scalars a schema coerces captures to.
const (
	KindNone ValueKind = iota
	KindString
	KindInt
	KindFloat
	KindBool
	KindTime
)

// Value is one scalar field value, held without boxing: parse steps and the
// schema build records out of these, so the hot path allocates one slice
// per record instead of a map and an interface per field.
type Value struct {
	kind ValueKind
	nsec int32  // time: nanoseconds
	s    string // string
	n    int64  // int; float bits; bool 0/1; time: Unix seconds
}

// StringValue returns a string value.
func StringValue(s string) Value { return Value{kind: KindString, s: s} }

// IntValue returns an int value.
func IntValue(n int64) Value { return Value{kind: KindInt, n: n} }

// ShortInt parses a short decimal integer (such as a status or a size,
// digits only, at most 18) in one pass; ok is false for anything else,
// which strconv then handles.
func ShortInt(s string) (int64, bool) {
	if len(s) == 0 || len(s) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i] - '0'
		if c > 9 {
			return 0, false
		}
		n = n*10 + int64(c)
	}
	return n, true
}

// FloatValue returns a float value.
func FloatValue(f float64) Value { return Value{kind: KindFloat, n: int64(math.Float64bits(f))} }

// BoolValue returns a bool value.
func BoolValue(b bool) Value {
	v := Value{kind: KindBool}
	if b {
		v.n = 1
	}
	return v
}

// TimeValue returns a time value. Only the instant is kept: the wire form
// writes times in UTC.
func TimeValue(t time.Time) Value {
	return Value{kind: KindTime, n: t.Unix(), nsec: int32(t.Nanosecond())}
}

// UnixValue returns a time value from Unix seconds and nanoseconds.
func UnixValue(sec int64, nsec int32) Value { return Value{kind: KindTime, n: sec, nsec: nsec} }

// ValueOf converts a JSON-shaped scalar to a Value; ok is false for nil,
// lists, maps and other types, which only the fields map holds.
func ValueOf(x any) (v Value, ok bool) {
	switch t := x.(type) {
	case string:
		return StringValue(t), true
	case int64:
		return IntValue(t), true
	case int:
		return IntValue(int64(t)), true
	case float64:
		return FloatValue(t), true
	case bool:
		return BoolValue(t), true
	case time.Time:
		return TimeValue(t), true
	}
	return Value{}, false
}

// Kind returns the value's kind.
func (v Value) Kind() ValueKind { return v.kind }

// Str returns a string value.
func (v Value) Str() string { return v.s }

// Int returns an int value.
func (v Value) Int() int64 { return v.n }

// Float returns a float value.
func (v Value) Float() float64 { return math.Float64frombits(uint64(v.n)) }

// Bool returns a bool value.
func (v Value) Bool() bool { return v.n != 0 }

// Time returns a time value, in UTC.
func (v Value) Time() time.Time { return time.Unix(v.n, int64(v.nsec)).UTC() }

// Number returns an int or float value as a float64.
func (v Value) Number() (float64, bool) {
	switch v.kind {
	case KindInt:
		return float64(v.n), true
	case KindFloat:
		return v.Float(), true
	}
	return 0, false
}

// Any boxes the value as the fields map holds it.
func (v Value) Any() any {
	switch v.kind {
	case KindString:
		return v.s
	case KindInt:
		return v.n
	case KindFloat:
		return v.Float()
	case KindBool:
		return v.n != 0
	case KindTime:
		return v.Time()
	}
	return nil
}

// AppendJSON appends the value as JSON, as AppendValue writes its boxed form.
func (v Value) AppendJSON(dst []byte) []byte {
	switch v.kind {
	case KindString:
		return AppendString(dst, v.s)
	case KindInt:
		return appendInt(dst, v.n)
	case KindFloat:
		return appendFloat(dst, v.Float())
	case KindBool:
		return strconv.AppendBool(dst, v.n != 0)
	case KindTime:
		dst = append(dst, '"')
		dst = appendRFC3339(dst, v.n, v.nsec)
		return append(dst, '"')
	}
	return append(dst, "null"...)
}

// Field is one typed field of a record.
type Field struct {
	Key string
	Value
}

// TypedFields are a record's fields as typed scalars, sorted by key (so
// they encode to the same bytes as the fields map, whose keys are written
// sorted).
type TypedFields []Field

// index returns the position of key, or where it would be inserted.
func (fs TypedFields) index(key string) (int, bool) {
	// Parse steps add fields in key order: look at the end first.
	n := len(fs)
	if n == 0 || fs[n-1].Key < key {
		return n, false
	}
	lo, hi := 0, n
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if fs[m].Key < key {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < n && fs[lo].Key == key
}

// Lookup returns the value of key.
func (fs TypedFields) Lookup(key string) (Value, bool) {
	i, ok := fs.index(key)
	if !ok {
		return Value{}, false
	}
	return fs[i].Value, true
}

// LookupAt is Lookup starting where *at says the key was last time (the
// records of one stream have their fields in the same places), and keeps
// *at for the next call.
//
// A step that keys its lookups with the string the fields were keyed
// with (the schema's own name) finds the field by pointer, without
// comparing the bytes, and first near where it was: a field skipped
// before it (a null value) moves it by one or two (the nginx packs' time
// field: half the records, whose binary search was 120 instructions).
func (fs TypedFields) LookupAt(key string, at *int) (Value, bool) {
	if i := *at; i < len(fs) && same(fs[i].Key, key) {
		return fs[i].Value, true
	}
	for i := max(*at-3, 0); i < len(fs) && i <= *at+3; i++ {
		if SameData(fs[i].Key, key) {
			*at = i
			return fs[i].Value, true
		}
	}
	i, ok := fs.index(key)
	if !ok {
		return Value{}, false
	}
	*at = i
	return fs[i].Value, true
}

func (fs *TypedFields) set(key string, v Value) {
	i, ok := fs.index(key)
	if ok {
		(*fs)[i].Value = v
		return
	}
	// A new key replaces, as in a map, the nested fields under it and a
	// value where its path needs an object.
	if i < len(*fs) && inGroup((*fs)[i].Key, key) {
		fs.removeGroup(i, key)
	}
	if IsPathKey(key) {
		for j := 0; j < len(key); j++ {
			if key[j] == 0 {
				if k, ok := fs.index(key[:j]); ok {
					*fs = append((*fs)[:k], (*fs)[k+1:]...)
				}
			}
		}
		i, _ = fs.index(key)
	}
	*fs = append(*fs, Field{})
	copy((*fs)[i+1:], (*fs)[i:])
	(*fs)[i] = Field{Key: key, Value: v}
}

// inGroup reports whether k is a nested field under key: k starts with key
// and PathSep.
func inGroup(k, key string) bool {
	return len(k) > len(key) && k[len(key)] == 0 && k[:len(key)] == key
}

// removeGroup removes the fields under key, which start at i.
func (fs *TypedFields) removeGroup(i int, key string) {
	j := i
	for j < len(*fs) && inGroup((*fs)[j].Key, key) {
		j++
	}
	*fs = append((*fs)[:i], (*fs)[j:]...)
}

// remove removes the field key, and the nested fields under it.
func (fs *TypedFields) remove(key string) {
	i, ok := fs.index(key)
	if ok {
		*fs = append((*fs)[:i], (*fs)[i+1:]...)
	}
	if i < len(*fs) && inGroup((*fs)[i].Key, key) {
		fs.removeGroup(i, key)
	}
}

// group reports whether key names an object of nested fields.
func (fs TypedFields) group(key string) bool {
	i, _ := fs.index(key)
	return i < len(fs) && inGroup(fs[i].Key, key)
}

// appendJSON writes the fields as a JSON object; times (to the second)
// come from tc when it holds them. With paths, path keys are written as
// nested objects (see appendNestedJSON).
func (fs TypedFields) appendJSON(dst []byte, tc *timeCache, paths bool) []byte {
	if paths {
		return fs.appendNestedJSON(dst, tc, nil)
	}
	dst = append(dst, '{')
	for i := range fs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendString(dst, fs[i].Key)
		dst = append(dst, ':')
		dst = fs[i].appendJSON(dst, tc)
	}
	return append(dst, '}')
}

// appendFlatJSON is appendJSON for fields with no path keys, their keys
// written from l.
func (fs TypedFields) appendFlatJSON(dst []byte, tc *timeCache, l *keyLayout) []byte {
	dst = append(dst, '{')
	keys, j := *l, 0
	for i := range fs {
		if i > 0 {
			dst = append(dst, ',')
		}
		if k := fs[i].Key; j < len(keys) && same(k, keys[j].key) && keys[j].n != 0 {
			dst = keys[j].append(dst)
			j++
		} else if j+1 < len(keys) && same(k, keys[j+1].key) && keys[j+1].n != 0 {
			// One key this record does not have, the usual miss
			// (BenchmarkEncoderTypedMixed 3,833 -> 3,691 instructions).
			dst = keys[j+1].append(dst)
			j += 2
		} else {
			dst = l.miss(dst, k, &j)
			keys = *l
		}
		dst = fs[i].appendJSON(dst, tc)
	}
	return append(dst, '}')
}

// appendJSON writes the field's value. Strings and ints, most fields, are
// written here rather than through a copy of the Value (AppendJSON's
// receiver): 46 -> 22 instructions a field.
func (f *Field) appendJSON(dst []byte, tc *timeCache) []byte {
	switch {
	case f.kind == KindString:
		return AppendString(dst, f.s)
	case f.kind == KindInt:
		return appendInt(dst, f.n)
	case f.kind == KindTime && tc != nil:
		dst = append(dst, '"')
		dst = tc.append(dst, time.Unix(f.n, int64(f.nsec)))
		return append(dst, '"')
	}
	return f.AppendJSON(dst)
}

// appendNestedJSON writes fields keyed by paths as nested objects. The
// fields are sorted by key, and a path key sorts as its parts do, one
// level at a time (PathSep sorts before every other byte): the fields of
// one object are next to each other, in the order the fields map's
// encoder writes them. Each object is opened at its first field and closed
// after its last, with nothing built. l, when not nil, keeps what is
// written between two fields (see pathLayout).
func (fs TypedFields) appendNestedJSON(dst []byte, tc *timeCache, l *pathLayout) []byte {
	dst = append(dst, '{')
	prev := ""
	depth := 0 // objects open: the parts of prev's path before its leaf
	var keys pathLayout
	if l != nil {
		keys = *l
	}
	j := 0
	from := 0 // 1 + the place in l of the field before (0: none; -2: not in l, matching no step)
	for i := range fs {
		k := fs[i].Key
		var p *pathKey
		switch {
		case l == nil:
		case j < len(keys) && SameData(k, keys[j].key):
			p = &keys[j]
			j++
		case j+1 < len(keys) && SameData(k, keys[j+1].key):
			p = &keys[j+1] // one key this record does not have
			j += 2
		default:
			p = l.find(k, &j)
			keys = *l
		}
		if p == nil {
			dst, depth = appendPathStep(dst, prev, k, depth, i == 0)
			from = -2
		} else {
			if s := p.step(from); s != nil {
				dst, depth = s.keyEnc.append(dst), s.depth
			} else {
				dst, depth = p.add(dst, prev, from, depth)
			}
			from = j
		}
		dst = fs[i].appendJSON(dst, tc)
		prev = k
	}
	for ; depth > 0; depth-- {
		dst = append(dst, '}')
	}
	return append(dst, '}')
}

// appendPathStep writes what comes between the value of the field prev,
// whose path has depth objects open, and the value of the field key (the
// first when first): the objects of prev that key does not share closed, a
// comma, key's own objects opened, its leaf and a colon. It returns the
// objects open after it.
func appendPathStep(dst []byte, prev, key string, depth int, first bool) ([]byte, int) {
	// The objects key shares with prev stay open.
	common := 0
	for a, b := prev, key; common < depth; common++ {
		ia, ib := strings.IndexByte(a, 0), strings.IndexByte(b, 0)
		if ib < 0 || a[:ia] != b[:ib] {
			break
		}
		a, b = a[ia+1:], b[ib+1:]
	}
	for ; depth > common; depth-- {
		dst = append(dst, '}')
	}
	if !first {
		dst = append(dst, ',')
	}
	rest := key
	for j := 0; j < common; j++ {
		rest = rest[strings.IndexByte(rest, 0)+1:]
	}
	for {
		ib := strings.IndexByte(rest, 0)
		if ib < 0 {
			break
		}
		dst = AppendString(dst, rest[:ib])
		dst = append(dst, ':', '{')
		rest = rest[ib+1:]
		depth++
	}
	dst = AppendString(dst, rest)
	return append(dst, ':'), depth
}

// toMap builds the fields map of typed fields, nested fields as objects.
func (fs TypedFields) toMap() map[string]any {
	m := make(map[string]any, len(fs))
	for i := range fs {
		setPathIn(m, fs[i].Key, fs[i].Any())
	}
	return m
}

// PathSep separates the parts of a nested field's path in its key: the
// key "http\x00request\x00method" names the field method of the object
// request of the object http ({"http":{"request":{"method":…}}}). Get,
// Lookup, Set, SetValue and Delete take such keys as well as plain ones,
// on typed fields and on the fields map alike.
const PathSep = "\x00"

// PathKey returns the key of the nested field at path (a one-part path is
// the plain key).
func PathKey(path ...string) string { return strings.Join(path, PathSep) }

// IsPathKey reports whether key names a nested field by its path.
func IsPathKey(key string) bool { return strings.IndexByte(key, 0) >= 0 }

// PathName writes a key for people: its path's parts joined by ".".
func PathName(key string) string { return strings.ReplaceAll(key, PathSep, ".") }

// setPathIn sets the field key (a plain or a path key) in m, creating the
// objects on its path and replacing a value that is not one: the shape
// parse "json" gives.
func setPathIn(m map[string]any, key string, x any) {
	m, leaf, _ := walkPath(m, key, true)
	m[leaf] = x
}

// getPathIn returns the field key (a path key) of m.
func getPathIn(m map[string]any, key string) (any, bool) {
	m, leaf, ok := walkPath(m, key, false)
	if !ok {
		return nil, false
	}
	x, ok := m[leaf]
	return x, ok
}

// deletePathIn removes the field key (a path key) from m.
func deletePathIn(m map[string]any, key string) {
	if m, leaf, ok := walkPath(m, key, false); ok {
		delete(m, leaf)
	}
}

// walkPath follows key's path (its parts but the last) down from m and
// returns the object that holds the last part, and that part. With
// create, a missing object, or a value that is not one, is replaced by a
// new object; without it, walkPath reports false there.
func walkPath(m map[string]any, key string, create bool) (map[string]any, string, bool) {
	for {
		i := strings.IndexByte(key, 0)
		if i < 0 {
			return m, key, true
		}
		next, ok := m[key[:i]].(map[string]any)
		if !ok {
			if !create {
				return nil, "", false
			}
			next = map[string]any{}
			m[key[:i]] = next
		}
		m, key = next, key[i+1:]
	}
}

// Typed reports whether the record's fields are held as typed fields, all
// of them top-level (no nested field keyed by its path): readers that walk
// TypedFields as flat keys check it, and read the others through Get, All
// or MaterializeFields.
func (r *Record) Typed() bool { return r.typed != nil && !r.paths }

// HoldsTyped reports whether the record's fields are held as typed fields,
// nested fields (keyed by their paths, see PathKey) included.
func (r *Record) HoldsTyped() bool { return r.typed != nil }

// TypedFields returns the record's typed fields (nil when they are held in
// the fields map, or not parsed yet), nested fields keyed by their paths
// unless Typed reports true. The caller must not modify them.
func (r *Record) TypedFields() TypedFields { return r.typed }

// StartTyped begins a record's fields afresh as typed fields, with room
// for n: a parse step of the raw line calls it. The fields map, if any, is
// dropped.
func (r *Record) StartTyped(n int) {
	r.StartTypedIn(make(TypedFields, 0, n))
}

// StartTypedIn is StartTyped with the room given: an empty slice, which
// the record appends to (a parse step carves these out of one allocation
// per many records).
func (r *Record) StartTypedIn(room TypedFields) {
	r.fields = nil
	r.extra = nil
	r.typed = room[:0]
	r.paths = false
}

// AppendInOrder appends a typed field to a record that holds typed fields.
// The caller guarantees that key sorts after every key present (a parse
// step storing its captures, sorted and unique, into fields it just
// started) and is a plain key: nothing is compared.
func (r *Record) AppendInOrder(key string, v Value) {
	n := len(r.typed)
	if n == cap(r.typed) {
		r.typed = append(r.typed, Field{Key: key, Value: v})
		return
	}
	r.typed = r.typed[:n+1]
	f := &r.typed[n]
	f.Key, f.Value = key, v // see setTo
}

// AppendPathInOrder is AppendInOrder for a key that may be a path key
// (PathKey): the nested field is kept typed, and written as nested
// objects. The caller guarantees that no field present is on key's path
// or under it (true of captures, sorted and unique, into fields just
// started).
func (r *Record) AppendPathInOrder(key string, v Value) {
	r.AppendInOrder(key, v)
	r.paths = true
}

// MergeSorted sets the fields add, which are sorted by key, unique and
// plain (no path key), in one pass over the record's typed fields (each
// field moves at most once, where setting them one by one would shift the
// fields after each). A record without typed fields, or with nested ones,
// gets them set one by one.
func (r *Record) MergeSorted(add []Field) {
	if r.typed == nil || r.paths {
		for _, f := range add {
			r.SetValue(f.Key, f.Value)
		}
		return
	}
	old := r.typed
	n, k := len(old), len(add)
	dups := 0
	for i, j := 0, 0; i < n && j < k; {
		switch {
		case old[i].Key < add[j].Key:
			i++
		case old[i].Key > add[j].Key:
			j++
		default:
			dups++
			i++
			j++
		}
	}
	total := n + k - dups
	fs := slices.Grow(old, total-n)[:total]
	i, j, w := n-1, k-1, total-1
	for j >= 0 {
		switch {
		case i >= 0 && fs[i].Key > add[j].Key:
			fs[w].setTo(&fs[i])
			i--
		case i >= 0 && fs[i].Key == add[j].Key:
			fs[w].setTo(&add[j])
			i--
			j--
		default:
			fs[w].setTo(&add[j])
			j--
		}
		w--
	}
	r.typed = fs
}

// setTo sets f to g field by field: a Field is too large to be copied
// whole without the collector's bulk barrier while it marks.
func (f *Field) setTo(g *Field) { f.Key, f.Value = g.Key, g.Value }

// WithFields returns r with its fields replaced by m, for building a record
// in one expression: agent.Record{Kind: "k"}.WithFields(m).
func (r Record) WithFields(m map[string]any) Record {
	r.SetFields(m)
	return r
}

// SetFields replaces the record's fields with m (typed fields included).
func (r *Record) SetFields(m map[string]any) {
	r.typed = nil
	r.paths = false
	r.fields = m
	r.extra = nil
}

// SetTyped replaces the record's fields with fs, which must be sorted by
// key and unique (the record keeps fs: the caller must not change it).
func (r *Record) SetTyped(fs TypedFields) {
	paths := false
	for i := range fs {
		if IsPathKey(fs[i].Key) {
			paths = true
			break
		}
	}
	r.setTypedKnown(fs, paths)
}

// SetTypedFlat is SetTyped for fields the caller knows to have no path
// key among them (no nested field): it does not look through the keys.
func (r *Record) SetTypedFlat(fs TypedFields) { r.setTypedKnown(fs, false) }

// SetTypedNested is SetTyped for fields the caller knows may have path
// keys among them (a parse step's captures, some of them nested): they are
// held, and written, as nested fields without a look through the keys.
func (r *Record) SetTypedNested(fs TypedFields) { r.setTypedKnown(fs, true) }

func (r *Record) setTypedKnown(fs TypedFields, paths bool) {
	if fs == nil {
		fs = TypedFields{}
	}
	r.fields = nil
	r.extra = nil
	r.typed = fs
	r.paths = paths
}

// TypedOf returns m's fields as typed fields, sorted by key, when every
// value is a scalar ValueOf takes; ok is false otherwise.
func TypedOf(m map[string]any) (fs TypedFields, ok bool) {
	fs = make(TypedFields, 0, len(m))
	for k, x := range m {
		v, ok := ValueOf(x)
		if !ok || IsPathKey(k) {
			return nil, false
		}
		fs = append(fs, Field{Key: k, Value: v})
	}
	slices.SortFunc(fs, func(a, b Field) int { return strings.Compare(a.Key, b.Key) })
	return fs, true
}

// SetValue sets a field (key may be a path key, see PathKey) to a typed
// value: in the typed fields when the record holds them, else (boxed) in
// the fields map.
func (r *Record) SetValue(key string, v Value) {
	if r.typed != nil {
		r.setTyped(key, v)
		return
	}
	r.setInMap(key, v.Any())
}

func (r *Record) setTyped(key string, v Value) {
	r.typed.set(key, v)
	if !r.paths && IsPathKey(key) {
		r.paths = true
	}
}

// setInMap sets a field in the fields map, built first if need be.
func (r *Record) setInMap(key string, x any) {
	m := r.MaterializeFields()
	if IsPathKey(key) {
		setPathIn(m, key, x)
		return
	}
	m[key] = x
}

// Set sets a field (key may be a path key) to a JSON-shaped value, keeping
// the typed fields where the value is a scalar.
func (r *Record) Set(key string, x any) {
	if r.typed != nil {
		if v, ok := ValueOf(x); ok {
			r.setTyped(key, v)
			return
		}
	}
	r.setInMap(key, x)
}

// Delete removes a field (key may be a path key), and the fields nested
// under it.
func (r *Record) Delete(key string) {
	if r.typed != nil {
		r.typed.remove(key)
		return
	}
	if r.fields != nil {
		if IsPathKey(key) {
			deletePathIn(r.fields, key)
			return
		}
		delete(r.fields, key)
	}
}

// Get returns a field's value, boxed (the raw line for "message" when no
// step has parsed it yet); key may be a path key. An object of nested
// typed fields is returned as the map the fields map holds: the record's
// fields are materialized first, so that a write to it is a write to the
// record, as it is for a record that holds a map.
func (r *Record) Get(key string) (any, bool) {
	switch {
	case r.typed != nil:
		i, ok := r.typed.index(key)
		if ok {
			return r.typed[i].Any(), true
		}
		if r.paths && i < len(r.typed) && inGroup(r.typed[i].Key, key) {
			return getPathIn(r.MaterializeFields(), key)
		}
		return nil, false
	case r.fields != nil:
		v, ok := r.fields[key]
		if !ok && IsPathKey(key) {
			return getPathIn(r.fields, key)
		}
		return v, ok
	case key == "message" && r.Raw != nil:
		return string(r.Raw), true
	case r.extra != nil:
		v, ok := r.rawMap(false)[key]
		return v, ok
	}
	return nil, false
}

// Lookup returns a field's value unboxed when it is a scalar; ok is false
// when the field is missing or not a scalar (see Get).
func (r *Record) Lookup(key string) (Value, bool) {
	if r.typed != nil {
		return r.typed.Lookup(key)
	}
	x, ok := r.Get(key)
	if !ok {
		return Value{}, false
	}
	return ValueOf(x)
}

// IsRaw reports whether no step has parsed the record yet: it has neither
// a fields map nor typed fields, and its fields are {"message": Raw}.
func (r *Record) IsRaw() bool { return r.fields == nil && r.typed == nil }

// All iterates over the record's fields, boxed, in no fixed order (the
// raw line as "message" for a record no step has parsed). Nested typed
// fields are yielded as objects: the record's fields are materialized
// first.
func (r *Record) All() iter.Seq2[string, any] {
	return func(yield func(string, any) bool) {
		if r.paths {
			r.MaterializeFields()
		}
		switch {
		case r.typed != nil:
			for i := range r.typed {
				if !yield(r.typed[i].Key, r.typed[i].Value.Any()) {
					return
				}
			}
		case r.fields != nil:
			for k, v := range r.fields {
				if !yield(k, v) {
					return
				}
			}
		case r.extra != nil:
			for k, v := range r.rawMap(true) {
				if !yield(k, v) {
					return
				}
			}
		case r.Raw != nil:
			yield("message", string(r.Raw))
		}
	}
}

// NumFields returns how many (top-level) fields the record has.
func (r *Record) NumFields() int {
	switch {
	case r.typed != nil && r.paths:
		n := 0
		prev := ""
		for i := range r.typed {
			k := r.typed[i].Key
			if j := strings.IndexByte(k, 0); j >= 0 {
				k = k[:j]
			}
			if i == 0 || k != prev {
				n++
			}
			prev = k
		}
		return n
	case r.typed != nil:
		return len(r.typed)
	case r.fields != nil:
		return len(r.fields)
	case r.extra != nil:
		return len(r.rawMap(true))
	case r.Raw != nil:
		return 1
	}
	return 0
}

// appendRFC3339 writes a UTC instant as time.RFC3339Nano does, without
// going through time.Time's general formatter.
func appendRFC3339(dst []byte, sec int64, nsec int32) []byte {
	const (
		minSec = -62135596800 // 0001-01-01T00:00:00Z
		maxSec = 253402300799 // 9999-12-31T23:59:59Z
	)
	if sec < minSec || sec > maxSec || nsec < 0 || nsec >= 1e9 {
		return time.Unix(sec, int64(nsec)).UTC().AppendFormat(dst, time.RFC3339Nano)
	}
	return appendFracZ(appendDateTime(dst, sec), nsec)
}

// appendDateTime writes "2006-01-02T15:04:05" for a UTC instant in years
// 0001 to 9999; for other years it writes nothing.
func appendDateTime(dst []byte, sec int64) []byte {
	const (
		minSec        = -62135596800
		maxSec        = 253402300799
		secondsPerDay = 86400
		daysPer400    = 146097
	)
	if sec < minSec || sec > maxSec {
		return dst
	}
	days := sec / secondsPerDay
	rem := sec % secondsPerDay
	if rem < 0 {
		rem += secondsPerDay
		days--
	}
	// Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
	z := days + 719468
	era := z / daysPer400
	if z < 0 && z%daysPer400 != 0 {
		era--
	}
	doe := z - era*daysPer400
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if m > 12 {
		m -= 12
	}
	if m <= 2 {
		y++
	}
	hh, mm, ss := rem/3600, rem/60%60, rem%60
	return append(dst,
		byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-',
		byte('0'+m/10), byte('0'+m%10), '-',
		byte('0'+d/10), byte('0'+d%10), 'T',
		byte('0'+hh/10), byte('0'+hh%10), ':',
		byte('0'+mm/10), byte('0'+mm%10), ':',
		byte('0'+ss/10), byte('0'+ss%10))
}

// appendFracZ writes the fraction of a second as RFC3339Nano does (no
// trailing zeros, nothing for zero) and the "Z" of UTC.
func appendFracZ(dst []byte, nsec int32) []byte {
	if nsec != 0 {
		var frac [10]byte
		frac[0] = '.'
		n := nsec
		for i := 9; i >= 1; i-- {
			frac[i] = byte('0' + n%10)
			n /= 10
		}
		end := 10
		for frac[end-1] == '0' {
			end--
		}
		dst = append(dst, frac[:end]...)
	}
	return append(dst, 'Z')
}
