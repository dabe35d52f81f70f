// Package jsonl writes batches of records as JSON lines (the record wire
// form, one per line) to an io.Writer and resolves them. The stdout and
// file sinks share it.
package jsonlines

import (
	"context"
	"io"

	"github.com/octostore/agent/agent"
)

// Writer encodes batches into one buffer and writes each batch with a
// single Write call.
type Writer struct {
	W io.Writer
	// Sync, if set, runs after each write and before records count as
	// delivered (fsync for the file sink).
	Sync    func() error
	Metrics *agent.ComponentMetrics
	buf     []byte
	enc     agent.Encoder
}

// Write writes b and acks its records: Delivered once the write (and Sync)
// succeeded, Failed otherwise, so their sources do not commit past them.
func (w *Writer) Write(_ context.Context, b agent.Batch) error {
	buf := w.buf[:0]
	for i := range b {
		buf = w.enc.Append(buf, &b[i])
		buf = append(buf, '\n')
	}
	w.buf = buf
	_, err := w.W.Write(buf)
	if err == nil && w.Sync != nil {
		err = w.Sync()
	}
	if cap(w.buf) > 4<<20 {
		w.buf = nil // do not keep a huge buffer after one large batch
	}
	if err != nil {
		w.Metrics.Failed.Add(float64(len(b)))
		agent.AckAll(b, agent.Failed)
		return err
	}
	w.Metrics.Delivered.Add(float64(len(b)))
	agent.AckAll(b, agent.Delivered)
	return nil
}
