package otlp

import (
	"fmt"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

// What source "otlp" (the server) and sink "otlp" (the client) share about
// OTLP over gRPC: the method, a codec that passes messages as the bytes
// pdata marshals and unmarshals (so that the source sees, and limits, the
// request's bytes before decoding them, and the sink sends the body it
// built once and keeps for retries), and RetryInfo.

// ExportMethod is the full name of the logs service's one method.
const ExportMethod = "/opentelemetry.proto.collector.logs.v1.LogsService/Export"

// ServiceName is the logs service.
const ServiceName = "opentelemetry.proto.collector.logs.v1.LogsService"

// Frame is a gRPC message as its protobuf bytes.
type Frame struct{ B []byte }

// RawCodec is a gRPC codec of Frames: it marshals a Frame's bytes as they
// are, and unmarshals a message into a Frame without decoding it. Its name
// is "proto", so peers see the usual content type.
type RawCodec struct{}

var _ encoding.CodecV2 = RawCodec{}

// Marshal implements encoding.CodecV2.
func (RawCodec) Marshal(v any) (mem.BufferSlice, error) {
	f, ok := v.(*Frame)
	if !ok {
		return nil, fmt.Errorf("otlp raw codec: cannot marshal %T", v)
	}
	return mem.BufferSlice{mem.SliceBuffer(f.B)}, nil
}

// Unmarshal implements encoding.CodecV2.
func (RawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	f, ok := v.(*Frame)
	if !ok {
		return fmt.Errorf("otlp raw codec: cannot unmarshal into %T", v)
	}
	f.B = data.Materialize()
	return nil
}

// Name implements encoding.CodecV2.
func (RawCodec) Name() string { return "proto" }

// Throttled returns the RESOURCE_EXHAUSTED error a server answers when it
// cannot take a request now, with a RetryInfo asking the client to come
// back after delay: without one, OTLP clients treat RESOURCE_EXHAUSTED as
// final and drop the data.
func Throttled(msg string, delay time.Duration) error {
	st := status.New(codes.ResourceExhausted, msg)
	if d, err := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(delay)}); err == nil {
		st = d
	}
	return st.Err()
}

// RetryDelay returns the delay a status's RetryInfo asks for, if any.
func RetryDelay(st *status.Status) (time.Duration, bool) {
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok && ri.RetryDelay != nil {
			return ri.RetryDelay.AsDuration(), true
		}
	}
	return 0, false
}
