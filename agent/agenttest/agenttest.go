// Package agenttest holds test helpers about the record's shape, shared by
// the tests of the packages that write or store records.
package agenttest

import (
	"context"
	"fmt"
	"reflect"
	"sync"

	"github.com/octostore/agent/agent"
)

// FullOrigin returns an Origin with every field set to a distinct non-zero
// value, found by reflection: a test that round-trips it through a writer
// and a reader fails when a field added to Origin is forgotten by either.
func FullOrigin() agent.Origin {
	var o agent.Origin
	v := reflect.ValueOf(&o).Elem()
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		name := v.Type().Field(i).Name
		switch f.Kind() {
		case reflect.String:
			f.SetString(fmt.Sprintf("%s-%d \"é\"", name, i))
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			f.SetInt(int64(1000 + i))
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			f.SetUint(uint64(2000 + i))
		default:
			panic(fmt.Sprintf("agenttest.FullOrigin: Origin.%s is a %s; teach FullOrigin (and the writers) about it", name, f.Kind()))
		}
	}
	return o
}

// Capture is a sink (and an output) that keeps every record it is given and
// acknowledges it as delivered: what a test reads back a pipeline with.
type Capture struct {
	mu   sync.Mutex
	recs agent.Batch
}

// Consume keeps the batch's records and resolves them as delivered.
func (c *Capture) Consume(_ context.Context, b agent.Batch) error {
	c.mu.Lock()
	c.recs = append(c.recs, b...)
	c.mu.Unlock()
	agent.AckAll(b, agent.Delivered)
	return nil
}

// Emit is Consume, so a Capture can stand for a component's output.
func (c *Capture) Emit(ctx context.Context, b agent.Batch) error { return c.Consume(ctx, b) }

// Flush has nothing to write.
func (c *Capture) Flush(context.Context) error { return nil }

// Records returns a copy of what was captured so far.
func (c *Capture) Records() agent.Batch {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append(agent.Batch(nil), c.recs...)
}

// Factory returns a sink factory of type typ that hands out c, for a graph
// built by hand.
func (c *Capture) Factory(typ string) *agent.Factory {
	return agent.NewSinkFactory(agent.FactorySpec[struct{}, agent.Sink]{Type: typ,
		Create: func(agent.Settings, *struct{}) (agent.Sink, error) { return c, nil }})
}
