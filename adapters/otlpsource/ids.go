package otlpsource

import (
	"encoding/binary"
	"encoding/hex"
	"math"

	"github.com/zeebo/xxh3"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// Record ids. An OTLP exporter that retries sends the same records again,
// maybe in another request, maybe to another replica of the agent. So a
// record's origin is its content: the stream is "otlp:" and the XXH3-128
// hash of a canonical encoding of the record with its resource and scope
// (every field of each, walked through pdata, so protobuf and JSON give the
// same hash), and the offset is how many identical records came before it
// in the same request (0 almost always). The host is "otlp" whatever
// the node: the same record received by two replicas has one id.

// originHost is the host of every record of this source.
const originHost = "otlp"

// hasher appends canonical encodings and hashes them; one per request.
type hasher struct{ buf []byte }

func (h *hasher) sum() [16]byte {
	s := xxh3.Hash128(h.buf).Bytes()
	h.buf = h.buf[:0]
	return s
}

// resource hashes a ResourceLogs' resource and schema URL.
func (h *hasher) resource(rl plog.ResourceLogs) [16]byte {
	r := rl.Resource()
	h.buf = appendMap(h.buf, r.Attributes())
	h.buf = binary.BigEndian.AppendUint32(h.buf, r.DroppedAttributesCount())
	h.buf = appendString(h.buf, rl.SchemaUrl())
	return h.sum()
}

// scope hashes a ScopeLogs' scope and schema URL.
func (h *hasher) scope(sl plog.ScopeLogs) [16]byte {
	s := sl.Scope()
	h.buf = appendString(h.buf, s.Name())
	h.buf = appendString(h.buf, s.Version())
	h.buf = appendMap(h.buf, s.Attributes())
	h.buf = binary.BigEndian.AppendUint32(h.buf, s.DroppedAttributesCount())
	h.buf = appendString(h.buf, sl.SchemaUrl())
	return h.sum()
}

// record hashes a log record under its resource's and scope's hashes.
func (h *hasher) record(res, scope *[16]byte, lr plog.LogRecord) [16]byte {
	b := append(h.buf, res[:]...)
	b = append(b, scope[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(lr.Timestamp()))
	b = binary.BigEndian.AppendUint64(b, uint64(lr.ObservedTimestamp()))
	b = binary.BigEndian.AppendUint32(b, uint32(lr.SeverityNumber()))
	b = appendString(b, lr.SeverityText())
	b = appendValue(b, lr.Body())
	b = appendMap(b, lr.Attributes())
	b = binary.BigEndian.AppendUint32(b, lr.DroppedAttributesCount())
	b = binary.BigEndian.AppendUint32(b, uint32(lr.Flags()))
	tid, sid := lr.TraceID(), lr.SpanID()
	b = append(b, tid[:]...)
	b = append(b, sid[:]...)
	b = appendString(b, lr.EventName())
	h.buf = b
	return h.sum()
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendMap(b []byte, m pcommon.Map) []byte {
	b = binary.AppendUvarint(b, uint64(m.Len()))
	for k, v := range m.All() {
		b = appendString(b, k)
		b = appendValue(b, v)
	}
	return b
}

// appendValue appends a type tag and the value. Attributes keep the order
// they came in: a retry resends them in the same order.
func appendValue(b []byte, v pcommon.Value) []byte {
	t := v.Type()
	b = append(b, byte(t))
	switch t {
	case pcommon.ValueTypeStr:
		return appendString(b, v.Str())
	case pcommon.ValueTypeInt:
		return binary.BigEndian.AppendUint64(b, uint64(v.Int()))
	case pcommon.ValueTypeDouble:
		return binary.BigEndian.AppendUint64(b, math.Float64bits(v.Double()))
	case pcommon.ValueTypeBool:
		if v.Bool() {
			return append(b, 1)
		}
		return append(b, 0)
	case pcommon.ValueTypeMap:
		return appendMap(b, v.Map())
	case pcommon.ValueTypeSlice:
		s := v.Slice()
		b = binary.AppendUvarint(b, uint64(s.Len()))
		for i := range s.Len() {
			b = appendValue(b, s.At(i))
		}
		return b
	case pcommon.ValueTypeBytes:
		raw := v.Bytes().AsRaw()
		b = binary.AppendUvarint(b, uint64(len(raw)))
		return append(b, raw...)
	}
	return b
}

// stream is a record's stream: "otlp:" and its hash in hex.
func stream(sum [16]byte) string {
	var buf [5 + 32]byte
	copy(buf[:], "otlp:")
	hex.Encode(buf[5:], sum[:])
	return string(buf[:])
}
