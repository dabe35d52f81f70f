package playground_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/octostore/agent/internal/playground"
)

// BenchmarkEvalNginxSample is one evaluation of the page as it is typed
// into: the nginx pack's rules loaded and its 300-line sample log
// evaluated with the trace of line 1, over HTTP with the JSON answer.
func BenchmarkEvalNginxSample(b *testing.B) {
	ts, nginx := newServer(b, playground.Limits{})
	var sample string
	for _, s := range nginx.Samples {
		if s.Name == "configs/samples/nginx_access.log" {
			sample = s.Text
		}
	}
	if sample == "" {
		b.Fatal("no sample log in the nginx pack")
	}
	body, _ := json.Marshal(playground.Request{HCL: nginx.HCL, Lines: sample, Pack: "nginx", Trace: 1})
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		resp, err := http.Post(ts.URL+"/api/eval", "application/json", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		var out playground.Response
		err = json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if err != nil || out.Summary.Lines != 300 || out.Summary.Matched != 291 {
			b.Fatalf("%v %+v", err, out.Summary)
		}
	}
}
