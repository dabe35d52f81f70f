package otlpsource

import (
	"context"
	"crypto/tls"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	_ "google.golang.org/grpc/encoding/gzip" // accepts gzip-compressed requests (internal/otlp replaces the compressor with a faster one)
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/octostore/agent/internal/otlp"
)

// OTLP over gRPC. The service is registered by hand with a codec that
// hands the handler the request's bytes (otlp.RawCodec): the handler checks
// its size and decodes it with pdata itself, so a malformed request is
// INVALID_ARGUMENT with pdata's reason (gRPC's own decoding would answer
// INTERNAL), and counted.

func (s *source) newGRPCServer(tlsCfg *tls.Config) *grpc.Server {
	opts := []grpc.ServerOption{
		grpc.ForceServerCodecV2(otlp.RawCodec{}),
		// gRPC refuses bigger messages itself, with RESOURCE_EXHAUSTED,
		// before reading them; up to twice max_request_bytes the handler
		// refuses them with INVALID_ARGUMENT and counts them.
		grpc.MaxRecvMsgSize(2 * s.cfg.maxBytes),
	}
	if tlsCfg != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(tlsCfg)))
	}
	srv := grpc.NewServer(opts...)
	srv.RegisterService(&grpc.ServiceDesc{
		ServiceName: otlp.ServiceName,
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{
			MethodName: "Export",
			Handler: func(_ any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
				var req otlp.Frame
				if err := dec(&req); err != nil {
					return nil, err
				}
				return s.grpcExport(ctx, req.B)
			},
		}},
		Metadata: "opentelemetry/proto/collector/logs/v1/logs_service.proto",
	}, s)
	return srv
}

func (s *source) grpcExport(ctx context.Context, body []byte) (*otlp.Frame, error) {
	a, records := s.grpcAnswer(ctx, body)
	s.exp.count("grpc", a, records)
	switch {
	case a.code == codes.OK:
		return &otlp.Frame{}, nil // an empty ExportLogsServiceResponse
	case a.code == codes.ResourceExhausted:
		return nil, otlp.Throttled(a.msg, a.retryAfter)
	}
	return nil, status.Error(a.code, a.msg)
}

func (s *source) grpcAnswer(ctx context.Context, body []byte) (answer, int) {
	if s.tokens.Configured() {
		var auth string
		if md, ok := metadata.FromIncomingContext(ctx); ok {
			if v := md.Get("authorization"); len(v) > 0 {
				auth = v[0]
			}
		}
		if ok, err := s.tokens.CheckBearer(auth); !ok {
			return s.unauthenticated(err), 0
		}
	}
	if len(body) > s.cfg.maxBytes {
		return refused("too_large", codes.InvalidArgument, 413, "the request is %d bytes, more than max_request_bytes (%d); send smaller batches", len(body), s.cfg.maxBytes), 0
	}
	req := plogotlp.NewExportRequest()
	if err := req.UnmarshalProto(body); err != nil {
		return refused("malformed", codes.InvalidArgument, 400, "the request is not a valid OTLP ExportLogsServiceRequest: %v", err), 0
	}
	ld := req.Logs()
	return s.exp.export(ctx, ld), ld.LogRecordCount()
}
