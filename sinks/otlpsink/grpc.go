package otlpsink

import (
	"context"
	"fmt"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding/gzip" // its name; internal/otlp registers the compressor (klauspost, level 1)
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/internal/httpbatch"
	"github.com/octostore/agent/internal/otlp"
)

// grpcProtocol is OTLP over gRPC: the HTTP protocol's bodies (protobuf)
// and results, sent by a gRPC client instead (httpbatch.Sender).
type grpcProtocol struct {
	*protocol
	conn  *grpc.ClientConn
	calls []grpc.CallOption
}

func newGRPC(p *protocol, target string, secure bool, opt httpbatch.Options) (*grpcProtocol, error) {
	creds := insecure.NewCredentials()
	if secure {
		tlsCfg, err := opt.TLSClientConfig()
		if err != nil {
			return nil, err
		}
		creds = credentials.NewTLS(tlsCfg)
	}
	calls := []grpc.CallOption{grpc.ForceCodecV2(otlp.RawCodec{})}
	if opt.Gzip {
		calls = append(calls, grpc.UseCompressor(gzip.Name))
	}
	// Reconnect as often as the sink retries: gRPC's own default backs
	// off up to two minutes, which would leave a Collector that is back
	// unused for that long.
	bc := backoff.DefaultConfig
	bc.BaseDelay = min(opt.InitialBackoff, time.Second)
	bc.MaxDelay = opt.MaxBackoff
	conn, err := grpc.NewClient(target,
		grpc.WithTransportCredentials(creds),
		grpc.WithConnectParams(grpc.ConnectParams{Backoff: bc, MinConnectTimeout: min(opt.Timeout, 20*time.Second)}),
		grpc.WithUserAgent("octoagent"),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20)),
	)
	if err != nil {
		return nil, fmt.Errorf("endpoint: %w", err)
	}
	return &grpcProtocol{protocol: p, conn: conn, calls: calls}, nil
}

// Send implements httpbatch.Sender: one Export call.
func (g *grpcProtocol) Send(ctx context.Context, body []byte, ids []string, token agent.Secret) httpbatch.Attempt {
	md := metadata.MD{}
	for k, v := range g.headers {
		md.Set(strings.ToLower(k), v)
	}
	if !token.IsZero() {
		md.Set("authorization", "Bearer "+token.Reveal())
	}
	if len(md) > 0 {
		ctx = metadata.NewOutgoingContext(ctx, md)
	}
	var answer otlp.Frame
	err := g.conn.Invoke(ctx, otlp.ExportMethod, &otlp.Frame{B: body}, &answer, g.calls...)
	if err == nil {
		resp := plogotlp.NewExportResponse()
		if err := resp.UnmarshalProto(answer.B); err != nil {
			return httpbatch.Attempt{Kind: httpbatch.AttemptRetry, ErrKind: "bad_answer", Msg: "the answer is not an OTLP ExportLogsServiceResponse: " + err.Error()}
		}
		return httpbatch.Attempt{Kind: httpbatch.AttemptOK, Results: results(resp.PartialSuccess(), ids)}
	}
	return classify(status.Convert(err))
}

// classify turns a gRPC error into what the engine does about it, as
// OTLP's specification says for each code, and as the HTTP sinks do for
// the HTTP statuses that mean the same: credentials refused are retried
// (the token file is read again), a message too large is split, the codes
// OTLP calls retryable are retried, and so is RESOURCE_EXHAUSTED (with the
// delay its RetryInfo asks for, or a backoff); the rest (INVALID_ARGUMENT,
// UNIMPLEMENTED, ...) dead-letter the batch.
func classify(st *status.Status) httpbatch.Attempt {
	code := st.Code()
	kind := "grpc_" + strings.ToLower(code.String())
	msg := fmt.Sprintf("gRPC %s: %s", code, st.Message())
	a := httpbatch.Attempt{Kind: httpbatch.AttemptRetry, ErrKind: kind, Msg: msg}
	if d, ok := otlp.RetryDelay(st); ok {
		a.RetryAfter = d
	}
	switch code {
	case codes.Unauthenticated, codes.PermissionDenied:
		a.ErrKind = "auth"
		a.Msg = msg + " (the endpoint refused the credentials: check token, token_file, headers or the client certificate)"
	case codes.ResourceExhausted:
		if strings.Contains(st.Message(), "larger than max") {
			return httpbatch.Attempt{Kind: httpbatch.AttemptSplit, ErrKind: kind, Msg: msg}
		}
	case codes.Unavailable:
		if m := st.Message(); strings.Contains(m, "tls:") || strings.Contains(m, "x509:") || strings.Contains(m, "certificate") {
			a.ErrKind = "tls"
			a.Msg = "TLS: " + m + " (check tls.ca_file, tls.server_name and the endpoint's host name). Nothing was sent"
		}
	case codes.Canceled, codes.DeadlineExceeded, codes.Aborted, codes.OutOfRange, codes.DataLoss, codes.Internal, codes.Unknown:
	default:
		a.Kind = httpbatch.AttemptReject
	}
	return a
}

// grpcSink closes the client connection with the sink.
type grpcSink struct {
	*httpbatch.Sink
	g *grpcProtocol
}

func (s *grpcSink) Close() error {
	err := s.Sink.Close()
	s.g.conn.Close()
	return err
}
