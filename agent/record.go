// Package agent holds what every component shares: the record, the
// acknowledgement machinery, the bounded queues, the checkpoint store, the
// component contracts and the pipeline runtime.
package agent

import (
	"encoding/binary"
	"strconv"
	"time"

	"github.com/zeebo/xxh3"
)

// KindRaw is the kind of a record no rule has typed yet: a line as read.
const KindRaw = "raw"

// KindDeadLetter is the kind of the records on every dead_letter output.
const KindDeadLetter = "dead_letter"

// Record is the unit every component passes on. Fields holds JSON-shaped
// values (string, bool, int64, float64, time.Time, nil, []any,
// map[string]any) so that jq and expr take it as is.
//
// A record that a source has just read has Raw set and Fields nil: the wire
// form then carries the line as fields.message. Parse steps read Raw; they
// never need the map to be built first. That keeps the raw passthrough path
// free of one map per line.
type Record struct {
	// ID is derived from Origin by EnsureID; it stays empty until a sink
	// (or anything else that needs it) asks.
	ID     string
	Time   time.Time
	Kind   string
	Entity []KV
	fields map[string]any
	Raw    []byte
	Origin Origin

	// typed holds the fields as typed scalars instead of Fields, when a
	// parse step built them (see StartTyped). At most one of typed and
	// Fields is set.
	typed TypedFields
	// paths is set when typed may hold a nested field, keyed by its path
	// (see PathKey): readers that walk typed fields as flat keys then take
	// the general path (Typed reports false).
	paths bool
	// extra holds the fields a source attaches to a raw line next to
	// message (see RawFields); only read while the record is raw.
	extra RawFields
	token *Token
}

// RawFields are fields a source attaches to the raw lines it reads, next
// to message: a Kafka message's metadata. They are built only when
// something reads the fields of the raw record (the wire form, jq, expr, a
// dead letter); a parse step that reads the line starts the fields afresh
// without them, so the parse fast path never builds them. Implementations
// are never modified after the record is emitted (copies share them).
type RawFields interface {
	// AddRawFields adds the fields to m.
	AddRawFields(m map[string]any)
}

// SetRawFields attaches x to a raw record (nil detaches). It is dropped as
// soon as the record's fields are set or parsed.
func (r *Record) SetRawFields(x RawFields) { r.extra = x }

// HasRawFields reports whether a raw record carries a source's RawFields,
// so that its fields are more than {"message": Raw}.
func (r *Record) HasRawFields() bool { return r.extra != nil && r.IsRaw() }

// rawMap returns the fields of a raw record as a new map: message (when
// withMessage) and the source's RawFields.
func (r *Record) rawMap(withMessage bool) map[string]any {
	m := make(map[string]any, 8)
	if withMessage && r.Raw != nil {
		m["message"] = string(r.Raw)
	}
	if r.extra != nil {
		r.extra.AddRawFields(m)
	}
	return m
}

// KV is one ordered key/value pair of a record's entity: what the metadata
// is about (namespace=prod, deployment=api).
type KV struct {
	Key   string
	Value string
}

// Origin says where a record came from. This struct is the one home of the
// origin's shape: its JSON tags name the wire form's keys (the Encoder
// writes them without reflection, WireRecord reads them back), and tests
// check that every field survives the Encoder, the disk buffer's codec and
// docs/record.md. Host, Component, Stream, Offset,
// Rule and Index determine the record's ID; the other fields describe the
// position for people and are not part of the ID (a rotated file changes its
// path, not its identity).
type Origin struct {
	// Host is the node the agent runs on (NODE_NAME, else the host name).
	Host string `json:"host"`
	// Component is the source's ID, such as "source.file.nginx".
	Component string `json:"component"`
	// Stream names the ordered stream inside the source: for a file
	// "dev:inode:fingerprint", for Kafka "topic/partition", for a
	// Kubernetes event its uid.
	Stream string `json:"stream"`
	// Offset is the position of the record in its stream: the byte offset
	// of a line's first byte, a Kafka offset, an event's occurrence.
	Offset int64 `json:"offset"`
	// Rule is the transform (or chain of transforms, joined by ">") that
	// produced the record, and Index the record's number among those the
	// rule produced from one input.
	Rule  string `json:"rule,omitempty"`
	Index int    `json:"index,omitempty"`

	// Descriptive position.
	Path      string `json:"path,omitempty"`
	Device    uint64 `json:"device,omitempty"`
	Inode     uint64 `json:"inode,omitempty"`
	Topic     string `json:"topic,omitempty"`
	Partition int32  `json:"partition,omitempty"`
}

// Derive marks r as produced by the transform rule, as its index'th output
// for one input. Derived IDs differ from their input's ID, so two rules that
// read the same line never produce records with the same ID.
func (o *Origin) Derive(rule string, index int) {
	switch {
	case o.Rule == "":
		o.Rule = rule
	case o.Index != 0:
		o.Rule = o.Rule + "[" + strconv.Itoa(o.Index) + "]>" + rule
	default:
		o.Rule = o.Rule + ">" + rule
	}
	o.Index = index
}

// ComputeID returns the deterministic ID of a record from this origin: the
// 128-bit XXH3 hash of the identifying fields, in hex. The same input gives
// the same ID on every run, so the store can drop duplicates. (A record ID
// names a position, not content: it needs no cryptographic hash, and this
// one costs a tenth of SHA-256 on the hot path.)
func (o *Origin) ComputeID() string {
	var buf [32]byte
	return string(o.appendID(buf[:0]))
}

// appendID appends the ID in hex to dst.
func (o *Origin) appendID(dst []byte) []byte {
	var buf [256]byte
	return appendIDHash(dst, appendIDKey(buf[:0], o))
}

// appendIDKey appends what the ID hashes: host, component and stream each
// ended by a zero byte, the offset (8 bytes, big-endian), the rule ended
// by a zero byte, and the index (8 bytes, big-endian). The offset starts
// at idOffsetAt(o) and the index is the last 8 bytes, so an Encoder keeps
// the key of one origin and writes only those two for the next records.
func appendIDKey(b []byte, o *Origin) []byte {
	b = append(b, o.Host...)
	b = append(b, 0)
	b = append(b, o.Component...)
	b = append(b, 0)
	b = append(b, o.Stream...)
	b = append(b, 0)
	b = binary.BigEndian.AppendUint64(b, uint64(o.Offset))
	b = append(b, o.Rule...)
	b = append(b, 0)
	return binary.BigEndian.AppendUint64(b, uint64(o.Index))
}

// idOffsetAt is where the offset starts in o's ID key.
func idOffsetAt(o *Origin) int { return len(o.Host) + len(o.Component) + len(o.Stream) + 3 }

// appendIDHash appends the ID of the key in hex to dst.
func appendIDHash(dst, key []byte) []byte {
	sum := xxh3.Hash128(key)
	return appendHex64(appendHex64(dst, sum.Hi), sum.Lo)
}

// EnsureID computes r.ID from its origin if it is not set yet, and returns it.
func (r *Record) EnsureID() string {
	if r.ID == "" {
		r.ID = r.Origin.ComputeID()
	}
	return r.ID
}

// Message returns the raw line: Raw if set, else fields.message as bytes.
func (r *Record) Message() []byte {
	if r.Raw != nil {
		return r.Raw
	}
	if v, ok := r.Get("message"); ok {
		if s, ok := v.(string); ok {
			return []byte(s)
		}
	}
	return nil
}

// MaterializeFields builds the fields map of a raw record ({"message": Raw})
// or of a record with typed fields, and returns it. Steps that need the map
// (jq, expr) call it first; the typed fields are then dropped.
func (r *Record) MaterializeFields() map[string]any {
	if r.fields == nil {
		switch {
		case r.typed != nil:
			r.fields = r.typed.toMap()
			r.typed = nil
			r.paths = false
		default:
			r.fields = r.rawMap(true)
			r.extra = nil
		}
	}
	return r.fields
}

// GrowFields makes room for n more fields in a record's fields map, so
// that a step about to set them grows it once rather than field by field.
// A map of up to 8 fields (one group: what a source that builds maps
// makes) that would outgrow it is copied into one sized for them all;
// typed fields, a raw record and a larger map are left as they are.
func (r *Record) GrowFields(n int) {
	if r.fields == nil || len(r.fields) > 8 || len(r.fields)+n <= 8 {
		return
	}
	m := make(map[string]any, len(r.fields)+n)
	for k, v := range r.fields {
		m[k] = v
	}
	r.fields = m
}

// Token returns the acknowledgement token the record belongs to, or nil.
func (r *Record) Token() *Token { return r.token }

// SetToken attaches r to tok. The caller must already have counted r in tok
// (NewToken(n) or tok.Add).
func (r *Record) SetToken(tok *Token) { r.token = tok }

// Ack resolves this record's outcome once. Every record that carries a token
// must be acked exactly once, on exactly one terminal path.
func (r *Record) Ack(o Outcome) {
	if tok := r.token; tok != nil {
		r.token = nil // first: the outcome may release r's memory (OnRelease)
		tok.resolve(o, 1)
	}
}

// Clone returns a deep copy of r that holds its own place in r's token: the
// copy must be acked too. Fan-out clones for every consumer but the last.
func (r *Record) Clone() Record {
	c := r.Keep()
	if r.token != nil {
		r.token.Add(1)
		c.token = r.token
	}
	return c
}

// Keep returns a deep copy of r without its token, for a component that
// keeps a record past its outcome (a test's capture, a store of what was
// seen). r itself must not be kept: the memory its fields were carved
// from is reused once it has an outcome (Token.OnRelease).
func (r *Record) Keep() Record {
	c := *r
	c.token = nil
	if r.fields != nil {
		c.fields = CloneMap(r.fields)
	}
	if r.typed != nil {
		c.typed = append(TypedFields(nil), r.typed...)
	}
	if r.Entity != nil {
		c.Entity = append([]KV(nil), r.Entity...)
	}
	// Raw is never written to after a source emits it, so copies share it.
	return c
}

// CloneMap deep-copies a JSON-shaped map.
func CloneMap(m map[string]any) map[string]any {
	c := make(map[string]any, len(m))
	for k, v := range m {
		c[k] = cloneValue(v)
	}
	return c
}

func cloneValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		return CloneMap(t)
	case []any:
		c := make([]any, len(t))
		for i, e := range t {
			c[i] = cloneValue(e)
		}
		return c
	default:
		return v
	}
}

// Batch is a slice of records handed from one component to the next.
type Batch []Record

// Bytes estimates the memory a batch holds, for the bytes-buffered gauges.
func (b Batch) Bytes() int {
	n := 0
	for i := range b {
		n += b[i].memBytes()
	}
	return n
}

// memBytes estimates the memory one record holds: its raw line, its fields
// and a fixed overhead for the struct and its origin.
func (r *Record) memBytes() int {
	return len(r.Raw) + 16*len(r.fields) + 48*len(r.typed) + 128
}

// AckAll resolves every record in b with outcome o, touching each distinct
// token once per run of records that share it. Every record is detached
// from its token before the first is resolved: an outcome may release the
// memory b lives in (OnRelease), which is reused at once, so b is not read
// again once resolving starts.
func AckAll(b Batch, o Outcome) {
	var stack [8]tokenRun
	runs := stack[:0]
	for i := 0; i < len(b); {
		tok := b[i].token
		j := i + 1
		for j < len(b) && b[j].token == tok {
			j++
		}
		if tok != nil {
			for k := i; k < j; k++ {
				b[k].token = nil
			}
			runs = append(runs, tokenRun{tok, int64(j - i)})
		}
		i = j
	}
	for _, r := range runs {
		r.tok.resolve(o, r.n)
	}
}

type tokenRun struct {
	tok *Token
	n   int64
}
