package agent

import "slices"

// pathLayout keeps, for an encoder, what appendPathStep writes between two
// nested fields, key by key in the fields' order, as keyLayout keeps plain
// keys: records of one parse step hold the same keys in the same order (a
// grok pattern's captures, the same strings every record), so a record
// walks the layout once, finds each of its keys by a pointer comparison,
// and copies the closing braces, comma, opened objects and escaped leaf
// written before it last time. A step also depends on the field before
// it, which optional captures change (a user name of "-" is left out):
// each key keeps the steps from the last four fields seen before it, told
// apart by their places in the layout (the bench's status code follows
// the size, the referrer or the method). The direct-mapped table of
// (prev, key) pairs by their addresses that it replaces had two pairs of
// one pattern share a slot in some runs, as heap addresses fell
// (BenchmarkGrokHTTPDGen/httpd: 1,410 instructions a line for the steps,
// 2,020 with such a slot; 1,100 with the layout, callgrind).
type pathLayout []pathKey

// pathKey is one key of a pathLayout and the steps written before it:
// from[i] is 1 + the place in the layout of the field before steps[i] (1:
// none, the key is the record's first; 0: no step kept there).
type pathKey struct {
	key   string
	from  [4]uint8
	next  uint8 // the step a new one replaces
	steps [4]pathStep
}

// pathStep is a step: n bytes of enc (its key is unused), and the objects
// open after it.
type pathStep struct {
	keyEnc
	depth int
}

// find returns the entry of key, past *j (the entries of keys sorted
// before it that this record does not have), added there if missing, or
// nil when the layout is full; it moves *j past key. An entry added moves
// those after it, so the steps kept, which name fields by their places,
// are dropped.
func (l *pathLayout) find(key string, j *int) *pathKey {
	for *j < len(*l) && (*l)[*j].key < key {
		*j++
	}
	if *j == len(*l) || (*l)[*j].key != key {
		if len(*l) >= maxLayoutKeys {
			return nil
		}
		*l = slices.Insert(*l, *j, pathKey{key: key})
		for i := range *l {
			(*l)[i] = pathKey{key: (*l)[i].key}
		}
	}
	*j++
	return &(*l)[*j-1]
}

// step returns the step kept to p's key from the field at from-1 in the
// layout (0: from none), or nil.
func (p *pathKey) step(from int) *pathStep {
	for i, f := range p.from {
		if int(f) == from+1 {
			return &p.steps[i]
		}
	}
	return nil
}

// add writes the step to p's key from prev, the field at from-1 in the
// layout (-2: not in it), with depth objects open, as appendPathStep does,
// keeps it, and returns the objects open after it.
func (p *pathKey) add(dst []byte, prev string, from, depth int) ([]byte, int) {
	n := len(dst)
	dst, depth = appendPathStep(dst, prev, p.key, depth, from == 0)
	if from >= 0 && len(dst)-n <= len(keyEnc{}.enc) { // a longer one is written afresh
		i := p.next
		p.next = (i + 1) % uint8(len(p.steps))
		p.from[i] = uint8(from + 1)
		s := &p.steps[i]
		s.depth, s.n = depth, uint8(copy(s.enc[:], dst[n:]))
	}
	return dst, depth
}
