package agent_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/agenttest"
)

// Every Origin field survives the wire form, through AppendJSON and through
// an Encoder that reuses its cached origin (second record).
func TestOriginSurvivesTheWireForm(t *testing.T) {
	o := agenttest.FullOrigin()
	r := agent.Record{Time: time.Unix(1700000000, 5), Kind: "k", Origin: o}.WithFields(map[string]any{"a": int64(1)})
	var enc agent.Encoder
	for name, b := range map[string][]byte{
		"AppendJSON":     agent.AppendJSON(nil, &r),
		"Encoder":        enc.Append(nil, &r),
		"Encoder cached": enc.Append(nil, &r),
	} {
		var w agent.WireRecord
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&w); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, b)
		}
		if !reflect.DeepEqual(w.Origin, o) {
			t.Errorf("%s: origin %+v after the wire form, want %+v", name, w.Origin, o)
		}
		if w.ID != o.ComputeID() {
			t.Errorf("%s: id %s, want %s", name, w.ID, o.ComputeID())
		}
	}
}
