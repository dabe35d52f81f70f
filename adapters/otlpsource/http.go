package otlpsource

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/klauspost/compress/gzip"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// OTLP over HTTP: POST /v1/logs, protobuf (application/x-protobuf) or JSON
// (application/json), optionally gzip-compressed. Errors are a
// google.rpc.Status in the request's encoding, as OTLP/HTTP says.

const (
	ctProto = "application/x-protobuf"
	ctJSON  = "application/json"
)

func (s *source) newHTTPHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/logs", s.serveLogs)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeStatus(w, ctJSON, answer{status: http.StatusNotFound, code: codes.NotFound,
			msg: fmt.Sprintf("no such path %q: this is an OTLP logs receiver, POST to /v1/logs", r.URL.Path)})
	})
	return mux
}

func (s *source) serveLogs(w http.ResponseWriter, r *http.Request) {
	ct := mediaType(r.Header.Get("Content-Type"))
	replyCT := ct
	if replyCT != ctProto {
		replyCT = ctJSON
	}
	a, records := s.httpAnswer(w, r, ct)
	s.exp.count("http", a, records)
	if a.code == codes.OK {
		// An empty ExportLogsServiceResponse: no partial success.
		w.Header().Set("Content-Type", replyCT)
		if replyCT == ctJSON {
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte("{}"))
			return
		}
		w.WriteHeader(http.StatusOK)
		return
	}
	if a.status == 499 {
		return // the client is gone
	}
	writeStatus(w, replyCT, a)
}

func (s *source) httpAnswer(w http.ResponseWriter, r *http.Request, ct string) (answer, int) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return refused("unsupported", codes.Unimplemented, http.StatusMethodNotAllowed, "method %s: POST OTLP logs to /v1/logs", r.Method), 0
	}
	if s.tokens.Configured() {
		if ok, err := s.tokens.CheckBearer(r.Header.Get("Authorization")); !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="octoagent"`)
			return s.unauthenticated(err), 0
		}
	}
	if ct != ctProto && ct != ctJSON {
		return refused("unsupported", codes.InvalidArgument, http.StatusUnsupportedMediaType,
			"unsupported Content-Type %q: send OTLP logs as application/x-protobuf or application/json", r.Header.Get("Content-Type")), 0
	}
	body, a, ok := s.readBody(w, r)
	if !ok {
		return a, 0
	}
	req := plogotlp.NewExportRequest()
	var err error
	if ct == ctProto {
		err = req.UnmarshalProto(body)
	} else {
		err = req.UnmarshalJSON(body)
	}
	if err != nil {
		what := "protobuf"
		if ct == ctJSON {
			what = "JSON"
		}
		return refused("malformed", codes.InvalidArgument, http.StatusBadRequest, "the body is not a valid OTLP ExportLogsServiceRequest in %s: %v", what, err), 0
	}
	ld := req.Logs()
	return s.exp.export(r.Context(), ld), ld.LogRecordCount()
}

// readBody reads the body, gunzipping it, and refuses one over
// max_request_bytes before or after decompression.
func (s *source) readBody(w http.ResponseWriter, r *http.Request) ([]byte, answer, bool) {
	max := s.cfg.maxBytes
	tooLarge := func() ([]byte, answer, bool) {
		return nil, refused("too_large", codes.InvalidArgument, http.StatusRequestEntityTooLarge, "the body is more than max_request_bytes (%d bytes, after decompression); send smaller batches", max), false
	}
	if r.ContentLength > int64(max) {
		return tooLarge()
	}
	var in io.Reader = http.MaxBytesReader(w, r.Body, int64(max))
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(in)
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return tooLarge()
			}
			return nil, refused("malformed", codes.InvalidArgument, http.StatusBadRequest, "the body is not gzip: %v", err), false
		}
		defer zr.Close()
		in = zr
	default:
		return nil, refused("unsupported", codes.InvalidArgument, http.StatusUnsupportedMediaType, "unsupported Content-Encoding %q: send the body as is or gzip-compressed", enc), false
	}
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength))
	}
	n, err := buf.ReadFrom(io.LimitReader(in, int64(max)+1))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return tooLarge()
		}
		if r.Context().Err() != nil {
			return nil, refused("canceled", codes.Canceled, 499, "the client gave up"), false
		}
		return nil, refused("malformed", codes.InvalidArgument, http.StatusBadRequest, "reading the body: %v", err), false
	}
	if n > int64(max) {
		return tooLarge()
	}
	return buf.Bytes(), answer{}, true
}

// mediaType returns the media type of a Content-Type, lowercase, without
// parameters.
func mediaType(ct string) string {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return strings.ToLower(strings.TrimSpace(ct))
	}
	return mt
}

// writeStatus writes an error answer: its status, Retry-After when it
// asks the client to come back, and a google.rpc.Status with the message.
func writeStatus(w http.ResponseWriter, ct string, a answer) {
	st := status.New(a.code, a.msg).Proto()
	var body []byte
	if ct == ctProto {
		body, _ = proto.Marshal(st)
	} else {
		body, _ = protojson.Marshal(st)
	}
	if a.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(a.retryAfter.Seconds()))))
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(a.status)
	_, _ = w.Write(body)
}
