package octostore

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/octostore/agent/internal/httpbatch"
)

var resultIDs = []string{"0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210", "00000000000000000000000000000000"}

// answers are store answers for resultIDs: the usual ones (read by the
// fast path) and unusual ones (left to encoding/json).
var answers = []struct {
	body string
	fast bool
}{
	{`{"results":[{"id":"0123456789abcdef0123456789abcdef","status":"accepted"},{"id":"fedcba9876543210fedcba9876543210","status":"duplicate"},{"id":"00000000000000000000000000000000","status":"accepted"}]}` + "\n", true},
	{" { \"results\" : [ {\"status\":\"accepted\" , \"id\":\"0123456789abcdef0123456789abcdef\"},\n{\"id\":\"fedcba9876543210fedcba9876543210\",\"status\":\"accepted\"},\t{\"id\":\"00000000000000000000000000000000\",\"status\":\"duplicate\"} ] }\r\n", true},
	// A reject, with its reasons.
	{`{"results":[{"id":"0123456789abcdef0123456789abcdef","status":"accepted"},{"id":"fedcba9876543210fedcba9876543210","status":"rejected","errors":[{"field":"time","error":"bad"}]},{"id":"00000000000000000000000000000000","status":"accepted"}]}`, false},
	{`{"results":[{"id":"0123456789abcdef0123456789abcdef","status":"rejected"},{"id":"fedcba9876543210fedcba9876543210","status":"accepted"},{"id":"00000000000000000000000000000000","status":"accepted"}]}`, false},
	// Another order, one missing, one too many, a duplicate.
	{`{"results":[{"id":"fedcba9876543210fedcba9876543210","status":"accepted"},{"id":"0123456789abcdef0123456789abcdef","status":"accepted"},{"id":"00000000000000000000000000000000","status":"accepted"}]}`, false},
	{`{"results":[{"id":"0123456789abcdef0123456789abcdef","status":"accepted"},{"id":"fedcba9876543210fedcba9876543210","status":"accepted"}]}`, false},
	{`{"results":[{"id":"0123456789abcdef0123456789abcdef","status":"accepted"},{"id":"fedcba9876543210fedcba9876543210","status":"accepted"},{"id":"00000000000000000000000000000000","status":"accepted"},{"id":"x","status":"accepted"}]}`, false},
	{`{"results":[{"id":"0123456789abcdef0123456789abcdef","status":"accepted","status":"rejected"},{"id":"fedcba9876543210fedcba9876543210","status":"accepted"},{"id":"00000000000000000000000000000000","status":"accepted"}]}`, false},
	// Escapes, other keys, other spellings, an unknown status.
	{`{"results":[{"id":"0123456789abcdef0123456789abcde\u0066","status":"accepted"},{"id":"fedcba9876543210fedcba9876543210","status":"accepted"},{"id":"00000000000000000000000000000000","status":"accepted"}]}`, false},
	{`{"results":[{"ID":"0123456789abcdef0123456789abcdef","Status":"accepted"},{"id":"fedcba9876543210fedcba9876543210","status":"accepted"},{"id":"00000000000000000000000000000000","status":"accepted"}]}`, false},
	{`{"results":[{"id":"0123456789abcdef0123456789abcdef","status":"accepted","note":1},{"id":"fedcba9876543210fedcba9876543210","status":"accepted"},{"id":"00000000000000000000000000000000","status":"accepted"}]}`, false},
	{`{"took":3,"results":[{"id":"0123456789abcdef0123456789abcdef","status":"accepted"},{"id":"fedcba9876543210fedcba9876543210","status":"accepted"},{"id":"00000000000000000000000000000000","status":"accepted"}]}`, false},
	{`{"results":[{"id":"0123456789abcdef0123456789abcdef","status":"queued"},{"id":"fedcba9876543210fedcba9876543210","status":"accepted"},{"id":"00000000000000000000000000000000","status":"accepted"}]}`, false},
	// Not an ingest answer at all.
	{`{"results":[{"id":"0123456789abcdef0123456789abcdef","status":"accepted"},{"id":"fedcba9876543210fedcba9876543210","status":"accepted"},{"id":"00000000000000000000000000000000","status":"accepted"}]}x`, false},
	{`{"results":[{"id":"0123456789abcdef0123456789abcdef","status":"accepted"},{"id":"fedcba9876543210fedcba9876543210","status":"accepted"},{"id":"00000000000000000000000000000000","status":"accepted"}]`, false},
	{`{"results":null}`, false},
	{`{}`, false},
	{``, false},
	{`[]`, false},
}

// TestFastResults: the fast path reads the usual answers, and gives what
// encoding/json gives whenever it answers.
func TestFastResults(t *testing.T) {
	for i, a := range answers {
		got, ok := fastResults([]byte(a.body), resultIDs)
		if ok != a.fast {
			t.Errorf("answer %d: fast path took it: %v, want %v", i, ok, a.fast)
		}
		if ok {
			want, err := slowResults([]byte(a.body), resultIDs)
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("answer %d: fast %+v, encoding/json %+v (%v)", i, got, want, err)
			}
		}
	}
}

// FuzzFastResults: whatever the answer, the fast path either declines it
// or reads it as encoding/json does.
func FuzzFastResults(f *testing.F) {
	for _, a := range answers {
		f.Add(a.body)
	}
	f.Fuzz(func(t *testing.T, body string) {
		got, ok := fastResults([]byte(body), resultIDs)
		if !ok {
			return
		}
		want, err := slowResults([]byte(body), resultIDs)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: fast %+v, encoding/json %+v (%v)", body, got, want, err)
		}
	})
}

// BenchmarkResults reads an answer accepting 1,000 records.
func BenchmarkResults(b *testing.B) {
	ids := make([]string, 1000)
	var sb strings.Builder
	sb.WriteString(`{"results":[`)
	for i := range ids {
		ids[i] = fmt.Sprintf("%032x", i)
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"id":%q,"status":"accepted"}`, ids[i])
	}
	sb.WriteString("]}\n")
	body := []byte(sb.String())
	p := &protocol{}
	for _, bc := range []struct {
		name string
		fn   func([]byte, []string) ([]httpbatch.Result, error)
	}{{"fast", p.Results}, {"encoding_json", slowResults}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := bc.fn(body, ids); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
