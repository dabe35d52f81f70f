package diskbuffer

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"time"

	"github.com/octostore/agent/agent"
)

// A frame on disk:
//
//	magic    4 bytes  F0 0C 7A B1 (never valid UTF-8: resync finds it fast)
//	length   4 bytes  little endian, length of payload (at least 1)
//	crc      4 bytes  little endian, CRC-32C over the length bytes and payload
//	payload  length bytes, the record (see appendRecord)
const headerSize = 12

// maxPayload bounds a frame's length, so a damaged length is recognised.
const maxPayload = 256 << 20

var magic = [4]byte{0xF0, 0x0C, 0x7A, 0xB1}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// appendFrame appends the frame of one record to dst.
func appendFrame(dst []byte, r *agent.Record) []byte {
	start := len(dst)
	dst = append(dst, magic[:]...)
	dst = append(dst, 0, 0, 0, 0, 0, 0, 0, 0)
	dst = appendRecord(dst, r)
	n := len(dst) - start - headerSize
	binary.LittleEndian.PutUint32(dst[start+4:], uint32(n))
	crc := crc32.Update(0, castagnoli, dst[start+4:start+8])
	crc = crc32.Update(crc, castagnoli, dst[start+headerSize:])
	binary.LittleEndian.PutUint32(dst[start+8:], crc)
	return dst
}

// frameAt checks the frame at data[pos:]. It returns the payload and the
// frame's full size; ok is false for a damaged frame; short is true when
// data ends before the frame does (need more bytes, or a torn frame).
func frameAt(data []byte, pos int) (payload []byte, size int, ok, short bool) {
	rest := data[pos:]
	if len(rest) < headerSize {
		if len(rest) < 4 && bytes.HasPrefix(magic[:], rest) || bytes.HasPrefix(rest, magic[:]) {
			return nil, 0, false, true
		}
		return nil, 0, false, false
	}
	if !bytes.Equal(rest[:4], magic[:]) {
		return nil, 0, false, false
	}
	n := int(binary.LittleEndian.Uint32(rest[4:8]))
	if n < 1 || n > maxPayload {
		return nil, 0, false, false
	}
	if len(rest) < headerSize+n {
		return nil, headerSize + n, false, true
	}
	crc := crc32.Update(0, castagnoli, rest[4:8])
	crc = crc32.Update(crc, castagnoli, rest[headerSize:headerSize+n])
	if crc != binary.LittleEndian.Uint32(rest[8:12]) {
		return nil, 0, false, false
	}
	return rest[headerSize : headerSize+n], headerSize + n, true, false
}

const codecVersion = 1

const (
	flagRaw    = 1
	flagFields = 2
)

// appendRecord encodes everything the wire form needs: the id, time, kind,
// entity, raw line or fields, and origin. Fields are kept as JSON.
func appendRecord(dst []byte, r *agent.Record) []byte {
	dst = append(dst, codecVersion)
	dst = appendStr(dst, r.EnsureID())
	dst = binary.AppendVarint(dst, r.Time.Unix())
	dst = binary.AppendUvarint(dst, uint64(r.Time.Nanosecond()))
	dst = appendStr(dst, r.Kind)
	dst = binary.AppendUvarint(dst, uint64(len(r.Entity)))
	for _, kv := range r.Entity {
		dst = appendStr(dst, kv.Key)
		dst = appendStr(dst, kv.Value)
	}
	var flags byte
	if r.Raw != nil {
		flags |= flagRaw
	}
	fields := !r.IsRaw() || r.HasRawFields()
	if fields {
		flags |= flagFields
	}
	dst = append(dst, flags)
	if r.Raw != nil {
		dst = appendBytes(dst, r.Raw)
	}
	if fields {
		dst = appendBytes(dst, r.AppendFieldsJSON(nil))
	}
	o := &r.Origin
	dst = appendStr(dst, o.Host)
	dst = appendStr(dst, o.Component)
	dst = appendStr(dst, o.Stream)
	dst = binary.AppendVarint(dst, o.Offset)
	dst = appendStr(dst, o.Rule)
	dst = binary.AppendVarint(dst, int64(o.Index))
	dst = appendStr(dst, o.Path)
	dst = binary.AppendUvarint(dst, o.Device)
	dst = binary.AppendUvarint(dst, o.Inode)
	dst = appendStr(dst, o.Topic)
	dst = binary.AppendVarint(dst, int64(o.Partition))
	return dst
}

func appendStr(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendBytes(dst []byte, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

var errShort = errors.New("record payload ends early")

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errShort
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errShort
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.err = errShort
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) str() string { return string(d.bytes()) }

func (d *decoder) byte1() byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) == 0 {
		d.err = errShort
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

// decodeRecord reads a payload written by appendRecord. The record keeps
// no reference to payload.
func decodeRecord(payload []byte) (agent.Record, error) {
	d := &decoder{b: payload}
	var r agent.Record
	if v := d.byte1(); d.err == nil && v != codecVersion {
		return r, fmt.Errorf("unknown record version %d", v)
	}
	r.ID = d.str()
	sec := d.varint()
	nsec := d.uvarint()
	r.Time = time.Unix(sec, int64(nsec)).UTC()
	r.Kind = d.str()
	if n := d.uvarint(); n > 0 && d.err == nil {
		if n > uint64(len(d.b)) {
			return r, errShort
		}
		r.Entity = make([]agent.KV, 0, n)
		for range n {
			r.Entity = append(r.Entity, agent.KV{Key: d.str(), Value: d.str()})
		}
	}
	flags := d.byte1()
	if flags&flagRaw != 0 {
		r.Raw = bytes.Clone(d.bytes())
		if r.Raw == nil {
			r.Raw = []byte{}
		}
	}
	if flags&flagFields != 0 {
		js := d.bytes()
		if d.err == nil {
			f, err := decodeFields(js)
			if err != nil {
				return r, err
			}
			r.SetFields(f)
		}
	}
	o := &r.Origin
	o.Host = d.str()
	o.Component = d.str()
	o.Stream = d.str()
	o.Offset = d.varint()
	o.Rule = d.str()
	o.Index = int(d.varint())
	o.Path = d.str()
	o.Device = d.uvarint()
	o.Inode = d.uvarint()
	o.Topic = d.str()
	o.Partition = int32(d.varint())
	if d.err != nil {
		return r, d.err
	}
	return r, nil
}

func decodeFields(js []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("fields: %w", err)
	}
	if m == nil {
		m = map[string]any{}
	}
	return agent.Normalize(m).(map[string]any), nil
}
