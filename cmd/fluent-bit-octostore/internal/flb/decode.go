// Package flb is the Go side of the Fluent Bit output plugin: it decodes
// the msgpack chunks Fluent Bit flushes and runs them through an agent
// pipeline (transforms and sinks from an HCL config), synchronously. The
// cgo exports in the main package are a thin layer over it, so everything
// here is tested without a C host.
package flb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"reflect"
	"time"

	"github.com/ugorji/go/codec"
)

// Event is one record of a Fluent Bit chunk.
type Event struct {
	Time time.Time
	// Fields holds JSON-shaped values: string (msgpack str and bin alike),
	// bool, int64, float64, nil, []any, map[string]any.
	Fields map[string]any
}

// eventTime is Fluent Bit's EventTime: msgpack extension type 0, 8 bytes,
// seconds and nanoseconds as big-endian uint32s.
type eventTime struct{ time.Time }

type eventTimeExt struct{}

func (eventTimeExt) WriteExt(v any) []byte {
	var t time.Time
	switch x := v.(type) {
	case *eventTime:
		t = x.Time
	case eventTime:
		t = x.Time
	}
	b := make([]byte, 8)
	binary.BigEndian.PutUint32(b, uint32(t.Unix()))
	binary.BigEndian.PutUint32(b[4:], uint32(t.Nanosecond()))
	return b
}

func (eventTimeExt) ReadExt(dst any, b []byte) {
	out := dst.(*eventTime)
	if len(b) != 8 {
		out.Time = time.Time{}
		return
	}
	out.Time = time.Unix(int64(binary.BigEndian.Uint32(b)), int64(binary.BigEndian.Uint32(b[4:]))).UTC()
}

func newHandle() *codec.MsgpackHandle {
	h := new(codec.MsgpackHandle)
	h.RawToString = true
	h.WriteExt = true
	if err := h.SetBytesExt(reflect.TypeOf(eventTime{}), 0, eventTimeExt{}); err != nil {
		panic(err)
	}
	return h
}

var handle = newHandle()

// ErrCorrupt means the chunk is not a sequence of msgpack values: nothing
// after the first bad byte can be read, and retrying will not help.
var ErrCorrupt = errors.New("the chunk is not valid msgpack")

// Decode reads every record of a Fluent Bit chunk: a sequence of msgpack
// arrays, each either [TIME, MAP] (the classic form) or [[TIME, META], MAP]
// (Fluent Bit 2.1 and later; the metadata map is dropped). TIME is an
// EventTime (extension 0), an integer (seconds) or a float (seconds with a
// fraction). Entries that are valid msgpack but not a record are skipped and
// counted in skipped; a chunk that is not msgpack at all returns the records
// before the damage and an error wrapping ErrCorrupt.
func Decode(buf []byte) (events []Event, skipped int, err error) {
	dec := codec.NewDecoderBytes(buf, handle)
	for {
		if dec.NumBytesRead() >= len(buf) {
			return events, skipped, nil
		}
		var v any
		if e := dec.Decode(&v); e != nil {
			return events, skipped, fmt.Errorf("%w: %v", ErrCorrupt, e)
		}
		ev, ok := toEvent(v)
		if !ok {
			skipped++
			continue
		}
		events = append(events, ev)
	}
}

func toEvent(v any) (Event, bool) {
	arr, ok := v.([]any)
	if !ok || len(arr) != 2 {
		return Event{}, false
	}
	head := arr[0]
	if h, ok := head.([]any); ok { // v2: [[ts, meta], map]
		if len(h) < 1 {
			return Event{}, false
		}
		head = h[0]
	}
	t, ok := toTime(head)
	if !ok {
		return Event{}, false
	}
	m, ok := convert(arr[1]).(map[string]any)
	if !ok {
		return Event{}, false
	}
	return Event{Time: t, Fields: m}, true
}

func toTime(v any) (time.Time, bool) {
	switch t := v.(type) {
	case eventTime:
		return t.Time, true
	case *eventTime:
		return t.Time, true
	case uint64:
		return time.Unix(int64(t), 0).UTC(), true
	case int64:
		return time.Unix(t, 0).UTC(), true
	case float64:
		sec, frac := math.Modf(t)
		return time.Unix(int64(sec), int64(math.Round(frac*1e9))).UTC(), true
	case float32:
		return toTime(float64(t))
	}
	return time.Time{}, false
}

// convert turns decoded msgpack into JSON-shaped values.
func convert(v any) any {
	switch x := v.(type) {
	case []byte:
		return string(x)
	case string, bool, nil, int64, float64:
		return x
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x)
		}
		return float64(x)
	case float32:
		return float64(x)
	case int8, int16, int32, int, uint8, uint16, uint32:
		return reflect.ValueOf(x).Convert(reflect.TypeOf(int64(0))).Interface()
	case eventTime:
		return x.Time
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = convert(e)
		}
		return out
	case map[any]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[keyString(k)] = convert(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = convert(e)
		}
		return out
	}
	return fmt.Sprint(v)
}

func keyString(k any) string {
	switch x := k.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	}
	return fmt.Sprint(convert(k))
}

// Encode writes events in the classic form, or the v2 form when v2 is set
// (with an empty metadata map). Tests and the benchmark use it.
func Encode(events []Event, v2 bool) ([]byte, error) {
	var out []byte
	enc := codec.NewEncoderBytes(&out, handle)
	for _, e := range events {
		var head any = eventTime{e.Time}
		if v2 {
			head = []any{eventTime{e.Time}, map[string]any{}}
		}
		if err := enc.Encode([]any{head, e.Fields}); err != nil {
			return nil, err
		}
	}
	return out, nil
}
