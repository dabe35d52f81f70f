// Package replay runs dead letters again through the transform that
// rejected them (`octoagent replay`). A dead letter carries the raw line,
// the time and entity it was read with and its origin, and a record's id is
// derived from its origin: so Rebuild gives back the very record the source
// emitted on the first read, and what the transform makes of it now has the
// ids it would have had if the rule had been right from the start.
package replay

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	jsoniter "github.com/json-iterator/go"

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
		raw := []byte(s)
		w.Fields.Raw = &raw
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
// building it, and reuses the strings that repeat from one dead letter to
// the next (host, component, stream, path): decoding is most of what a
// replay costs beyond the rule itself. The zero Decoder is ready; it is not
// safe for concurrent use.
type Decoder struct {
	host, component, stream, rule, path, topic, comp, kind string
	quoted, str                                            []byte // reused
}

// Decode reads one dead letter and rebuilds its input (see Rebuild).
func (d *Decoder) Decode(line []byte) (agent.Record, string, error) {
	var w wireDeadLetter
	var ent []agent.KV
	it := jsoniter.ConfigDefault.BorrowIterator(line)
	defer jsoniter.ConfigDefault.ReturnIterator(it)
	if it.WhatIsNext() != jsoniter.ObjectValue {
		return agent.Record{}, "", errorf(ReasonNotDeadLetter, "not a JSON record: the line is not an object")
	}
	if d.quoted == nil {
		d.quoted = make([]byte, 0, 256) // jsoniter captures into a non-nil slice only
	}
	str := func() []byte { // the next string value, unescaped, valid until the next call
		d.quoted = it.SkipAndAppendBytes(d.quoted[:0])
		b, ok := unquote(d.str[:0], d.quoted)
		if !ok {
			it.ReportError("read string", "expects a string")
		}
		d.str = b
		return b
	}
	for key := it.ReadObject(); key != "" && it.Error == nil; key = it.ReadObject() {
		switch key {
		case "id":
			w.ID = string(str())
		case "time":
			t, err := time.Parse(time.RFC3339Nano, string(str()))
			if err != nil {
				return agent.Record{}, "", errorf(ReasonNotDeadLetter, "not a record: time: %v", err)
			}
			w.Time = t.UTC()
		case "kind":
			w.Kind = intern(&d.kind, str())
		case "entity":
			it.ReadArrayCB(func(it *jsoniter.Iterator) bool {
				var kv agent.KV
				for k := it.ReadObject(); k != ""; k = it.ReadObject() {
					switch k {
					case "key":
						kv.Key = it.ReadString()
					case "value":
						kv.Value = it.ReadString()
					default:
						it.Skip()
					}
				}
				ent = append(ent, kv)
				return it.Error == nil
			})
		case "fields":
			for k := it.ReadObject(); k != "" && it.Error == nil; k = it.ReadObject() {
				if it.WhatIsNext() != jsoniter.StringValue {
					it.Skip()
					continue
				}
				switch k {
				case "component":
					w.Fields.Component = intern(&d.comp, str())
				case "raw":
					d.quoted = it.SkipAndAppendBytes(d.quoted[:0])
					raw, ok := unquote(make([]byte, 0, len(d.quoted)), d.quoted)
					if !ok {
						it.ReportError("read raw", "expects a string")
					}
					w.Fields.Raw = &raw
				case "kind":
					k := string(str())
					w.Fields.Kind = &k
				default:
					it.Skip()
				}
			}
		case "origin":
			o := &w.Origin
			for k := it.ReadObject(); k != "" && it.Error == nil; k = it.ReadObject() {
				switch k {
				case "host":
					o.Host = intern(&d.host, str())
				case "component":
					o.Component = intern(&d.component, str())
				case "stream":
					o.Stream = intern(&d.stream, str())
				case "offset":
					o.Offset = it.ReadInt64()
				case "rule":
					o.Rule = intern(&d.rule, str())
				case "index":
					o.Index = it.ReadInt()
				case "path":
					o.Path = intern(&d.path, str())
				case "device":
					o.Device = it.ReadUint64()
				case "inode":
					o.Inode = it.ReadUint64()
				case "topic":
					o.Topic = intern(&d.topic, str())
				case "partition":
					o.Partition = it.ReadInt32()
				default:
					it.Skip()
				}
			}
		default:
			it.Skip()
		}
	}
	if it.Error != nil && it.Error != io.EOF {
		return agent.Record{}, "", errorf(ReasonNotDeadLetter, "not a JSON record: %v", it.Error)
	}
	return w.rebuild(ent)
}

// intern returns b as a string, the one in *slot if it is the same.
func intern(slot *string, b []byte) string {
	if string(b) != *slot {
		*slot = string(b)
	}
	return *slot
}

// unquote appends the JSON string q (quotes included, maybe preceded by
// white space) to dst, unescaped as encoding/json does: a lone surrogate
// becomes U+FFFD. Runs without escapes are copied whole.
func unquote(dst, q []byte) ([]byte, bool) {
	for len(q) > 0 && (q[0] == ' ' || q[0] == '\t' || q[0] == '\n' || q[0] == '\r') {
		q = q[1:]
	}
	if len(q) < 2 || q[0] != '"' || q[len(q)-1] != '"' {
		return dst, false
	}
	q = q[1 : len(q)-1]
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
		if i+1 >= len(q) {
			return dst, false
		}
		c := q[i+1]
		q = q[i+2:]
		switch c {
		case '"', '\\', '/':
			dst = append(dst, c)
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, ok := hex4(q)
			if !ok {
				return dst, false
			}
			q = q[4:]
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if len(q) >= 6 && q[0] == '\\' && q[1] == 'u' {
					r2, _ = hex4(q[2:])
				}
				if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
					q = q[6:]
					r = dec
				} else {
					r = utf8.RuneError
				}
			}
			dst = utf8.AppendRune(dst, r)
		default:
			return dst, false
		}
	}
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
		Raw       *[]byte
		Component string
		Kind      *string
	}
	Origin agent.Origin
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
			return agent.Record{}, "", errorf(ReasonNotDeadLetter, `dead letter %s has no "component" field`, w.ID)
		}
		return agent.Record{}, "", errorf(ReasonNotTransform, "dead letter %s was made by %s, not by a transform: there is no rule to run it through", w.ID, comp)
	}
	if w.Fields.Raw == nil {
		return agent.Record{}, "", errorf(ReasonNoRaw, `dead letter %s of %s has no "raw" line to run again`, w.ID, comp)
	}
	if k := w.Fields.Kind; k != nil && *k != agent.KindRaw {
		return agent.Record{}, "", errorf(ReasonNotRaw, "dead letter %s: %s was given a %q record, not a raw line: replay the dead letters of the transform that made it", w.ID, comp, *k)
	}
	o := w.Origin
	rule, index, err := inputRule(o.Rule, comp)
	if err != nil {
		return agent.Record{}, "", err
	}
	if rule != "" {
		return agent.Record{}, "", errorf(ReasonNotRaw, "dead letter %s: %s was given a record made by %s, not a raw line: replay the dead letters of that transform", w.ID, comp, rule)
	}
	o.Rule, o.Index = rule, index
	return agent.Record{Time: w.Time, Raw: *w.Fields.Raw, Entity: entity, Origin: o}, comp, nil
}

// inputRule inverts agent.Origin.Derive: the rule and index the input of
// component comp had, from the rule of the dead letter comp made of it.
func inputRule(rule, comp string) (string, int, error) {
	suffix := comp + ".dead_letter"
	prefix, ok := strings.CutSuffix(rule, suffix)
	if !ok {
		return "", 0, errorf(ReasonBadOrigin, "origin.rule %q does not end in %q: the dead letter was edited or not made by %s", rule, suffix, comp)
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
