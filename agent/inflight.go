package agent

import (
	"encoding/binary"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// InFlight is how a component that runs users' programs over records
// recognises a poison pill: a record that kills the process (an
// allocation that runs it out of memory, the kernel's OOM killer, a fatal
// runtime error no recover catches). Before each record the component
// writes the record's position into a small file mapped into memory
// (data_dir/inflight/<component id>), and clears it after: the writes are
// plain memory stores, and they outlive the process, since the kernel
// keeps a shared mapping's pages whatever becomes of the process.
//
// At the next start OpenInFlight finds the position of the record the
// process died on. The first time, the record is run again (a process is
// also killed for reasons of its own: a SIGKILL, a node going down). If
// the process dies on the same record again, Poisoned reports it, and the
// component dead-letters it instead of running it a third time.
type InFlight struct {
	f   *os.File
	mem []byte

	// The record the last runs died on, and how many times in a row.
	suspect key
	strikes uint32
	log     *slog.Logger
}

// PoisonStrikes is how many times in a row the process must have died on
// one record before it is dead-lettered instead of being run again.
const PoisonStrikes = 2

// The file: one page. Bytes 0-3 magic, 4 state (1: a record is running),
// 8-15 its offset, 16-17 and 18-19 the lengths of its stream and source,
// 20- the stream and source; at 2048 the suspect in the same layout, with
// the strikes at 2048+4.
const (
	inflightSize  = 4096
	inflightHalf  = 2048
	inflightMagic = "OIF1"
	maxKeyString  = (inflightHalf - 20) / 2
)

type key struct {
	component, stream string
	offset            int64
}

func keyOf(o *Origin) key {
	return key{component: o.Component[:min(len(o.Component), maxKeyString)], stream: o.Stream[:min(len(o.Stream), maxKeyString)], offset: o.Offset}
}

func (k key) String() string {
	return fmt.Sprintf("%s stream %q offset %d", k.component, k.stream, k.offset)
}

func putKey(b []byte, component, stream string, offset int64) {
	component, stream = component[:min(len(component), maxKeyString)], stream[:min(len(stream), maxKeyString)]
	binary.LittleEndian.PutUint64(b[8:], uint64(offset))
	binary.LittleEndian.PutUint16(b[16:], uint16(len(stream)))
	binary.LittleEndian.PutUint16(b[18:], uint16(len(component)))
	copy(b[20:], stream)
	copy(b[20+len(stream):], component)
}

func getKey(b []byte) key {
	sl, cl := int(binary.LittleEndian.Uint16(b[16:])), int(binary.LittleEndian.Uint16(b[18:]))
	if sl > maxKeyString || cl > maxKeyString {
		return key{}
	}
	return key{offset: int64(binary.LittleEndian.Uint64(b[8:])), stream: string(b[20 : 20+sl]), component: string(b[20+sl : 20+sl+cl])}
}

// OpenInFlight opens (or creates) the in-flight file of component id under
// dataDir, and notes the record the last run died on, if it did.
func OpenInFlight(dataDir, id string, log *slog.Logger) (*InFlight, error) {
	if log == nil {
		log = slog.Default()
	}
	dir := filepath.Join(dataDir, "inflight")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("in-flight marker: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, strings.ReplaceAll(id, "/", "_")), os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("in-flight marker: %w", err)
	}
	if err := f.Truncate(inflightSize); err != nil {
		f.Close()
		return nil, fmt.Errorf("in-flight marker: %w", err)
	}
	mem, err := unix.Mmap(int(f.Fd()), 0, inflightSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("in-flight marker: %w", err)
	}
	m := &InFlight{f: f, mem: mem, log: log}
	if string(mem[:4]) == inflightMagic {
		m.suspect, m.strikes = getKey(mem[inflightHalf:]), binary.LittleEndian.Uint32(mem[inflightHalf+4:])
		if mem[4] == 1 { // the last run died on this record
			k := getKey(mem)
			if k == m.suspect {
				m.strikes++
			} else {
				m.suspect, m.strikes = k, 1
			}
			if m.strikes >= PoisonStrikes {
				log.Error("the agent died while running one record, several times in a row: it is dead-lettered (reason crashed) instead of being run again",
					"component", id, "record", m.suspect.String(), "times", m.strikes)
			} else {
				log.Warn("the agent stopped while running a record; it runs again now, and is dead-lettered if the agent dies on it again",
					"component", id, "record", m.suspect.String())
			}
		} else {
			m.strikes = 0 // the last run ended between records
		}
	}
	copy(mem, inflightMagic)
	mem[4] = 0
	binary.LittleEndian.PutUint32(mem[inflightHalf+4:], m.strikes)
	putKey(mem[inflightHalf:], m.suspect.component, m.suspect.stream, m.suspect.offset)
	return m, nil
}

// Begin notes that the component starts running the record at o.
func (m *InFlight) Begin(o *Origin) {
	putKey(m.mem, o.Component, o.Stream, o.Offset)
	m.mem[4] = 1
}

// End notes that the record Begin noted is done.
func (m *InFlight) End() { m.mem[4] = 0 }

// Poisoned reports whether the process died on the record at o at least
// PoisonStrikes times in a row: the component dead-letters it.
func (m *InFlight) Poisoned(o *Origin) bool {
	return m.strikes >= PoisonStrikes && o.Offset == m.suspect.offset && keyOf(o) == m.suspect
}

// Strikes returns how many times in a row the process died on the record
// at o (0 if it did not).
func (m *InFlight) Strikes(o *Origin) uint32 {
	if m.strikes > 0 && keyOf(o) == m.suspect {
		return m.strikes
	}
	return 0
}

// Close unmaps and closes the file; the marker says no record is running.
func (m *InFlight) Close() error {
	if m.mem == nil {
		return nil
	}
	m.mem[4] = 0
	err := unix.Munmap(m.mem)
	m.mem = nil
	if cerr := m.f.Close(); err == nil {
		err = cerr
	}
	return err
}
