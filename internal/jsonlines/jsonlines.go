// Package jsonl writes batches of records as JSON lines (the record wire
// form, one per line) to an io.Writer and resolves them. The stdout and
// file sinks share it.
package jsonlines

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

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
	// Encode, if set, writes a record's line instead of its wire form
	// (without the newline).
	Encode func(dst []byte, r *agent.Record) []byte
	buf    []byte
	enc    agent.Encoder
}

// Write writes b and acks its records: Delivered once the write (and Sync)
// succeeded, Failed otherwise, so their sources do not commit past them.
func (w *Writer) Write(_ context.Context, b agent.Batch) error {
	buf := w.buf[:0]
	for i := range b {
		if w.Encode != nil {
			buf = w.Encode(buf, &b[i])
		} else {
			buf = w.enc.Append(buf, &b[i])
		}
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

// OpenFile opens path for appending lines, creating it (and its directory)
// if needed. A file whose last line is torn (a crash in the middle of a
// write) gets a newline first, so that the next line starts on a line of
// its own instead of being glued onto it.
func OpenFile(path string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("create directory of %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if err := endWithNewline(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("repair %s: %w", path, err)
	}
	return f, nil
}

// endWithNewline adds a newline to a file whose last byte is not one.
func endWithNewline(f *os.File) error {
	st, err := f.Stat()
	if err != nil || st.Size() == 0 {
		return err
	}
	last := make([]byte, 1)
	if _, err := f.ReadAt(last, st.Size()-1); err != nil {
		return nil // opened write-only: cannot check, nothing to repair
	}
	if last[0] == '\n' {
		return nil
	}
	_, err = f.Write([]byte{'\n'})
	return err
}
