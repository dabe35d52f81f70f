package dottedquad

// The table DFA that Match replaced (one dependent table load a byte): the
// reference for TestMatchAgainstReferences and FuzzMatch.
type dfa struct {
	next   [32][256]uint8 // by state and byte
	accept [32]bool
}

// A state is 8*part + where in the part it is.
const (
	start    = iota // before the part's first digit
	low             // after 1 (or 0, with leading zeros): two more digits, any
	two             // after 2: 0-4 then any, 5 then 0-5, 6-9 and no more
	high3           // after 3-9: one more digit
	anyDigit        // one more digit, any
	to5             // after 25: one more digit, 0-5
	full            // no more digits (after a lone 0 too, without leading zeros)
	dead            // in part 0: no address
)

var dfas = []struct {
	name string
	s    Spelling
	d    *dfa
}{{"Canonical", Canonical, build(false)}, {"LeadingZeros", LeadingZeros, build(true)}}

func build(zeros bool) *dfa {
	d := new(dfa)
	for st := range d.next {
		for b := range d.next[st] {
			d.next[st][b] = dead
		}
	}
	for k := uint8(0); k < 4; k++ {
		n := d.next[8*k : 8*k+8]
		to := func(x uint8) uint8 { return 8*k + x }
		for c := byte('0'); c <= '9'; c++ {
			n[start][c] = to(high3)
			n[low][c] = to(anyDigit)
			n[high3][c] = to(full)
			n[anyDigit][c] = to(full)
			switch {
			case c <= '4':
				n[two][c] = to(anyDigit)
			case c == '5':
				n[two][c] = to(to5)
			default:
				n[two][c] = to(full)
			}
			if c <= '5' {
				n[to5][c] = to(full)
			}
		}
		n[start]['0'] = to(full)
		if zeros {
			n[start]['0'] = to(low)
		}
		n[start]['1'] = to(low)
		n[start]['2'] = to(two)
		for x := uint8(low); x <= full; x++ {
			if k < 3 {
				n[x]['.'] = to(8 + start)
			} else {
				d.accept[to(x)] = true
			}
		}
	}
	return d
}

func (d *dfa) match(t string) bool {
	if len(t) < 7 || len(t) > 15 {
		return false
	}
	st := uint8(0)
	for i := 0; i < len(t); i++ {
		st = d.next[st&31][t[i]]
	}
	return d.accept[st&31]
}
