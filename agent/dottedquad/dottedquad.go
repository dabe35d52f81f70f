// Package dottedquad decides whether a text is an IPv4 address written as
// a dotted quad (four decimal numbers of one to three digits, each at most
// 255, between dots) with one table lookup a byte. Two spellings are
// served: netip's canonical one, without leading zeros (a schema's ip
// field keeps such an address as it is), and Logstash's IPV4, which
// allows them (grok accepts such a client address without its automaton).
package dottedquad

// DFA is the automaton of one spelling.
type DFA struct {
	next   [32][256]uint8 // by state and byte
	accept [32]bool
}

// A state is 8*part + where in the part it is.
const (
	start    = iota // before the part's first digit
	low             // after 1 (or 0, with leading zeros): two more digits, any
	two             // after 2: 0-4 then any, 5 then 0-5, 6-9 and no more
	high            // after 3-9: one more digit
	anyDigit        // one more digit, any
	to5             // after 25: one more digit, 0-5
	full            // no more digits (after a lone 0 too, without leading zeros)
	dead            // in part 0: no address
)

// Canonical is netip's spelling: no leading zeros.
var Canonical = build(false)

// LeadingZeros is Logstash's IPV4: `[0-1]?[0-9]{1,2}|2[0-4][0-9]|25[0-5]`
// four times between dots (001 and 01 are numbers too).
var LeadingZeros = build(true)

func build(zeros bool) *DFA {
	d := new(DFA)
	for st := range d.next {
		for b := range d.next[st] {
			d.next[st][b] = dead
		}
	}
	for k := uint8(0); k < 4; k++ {
		n := d.next[8*k : 8*k+8]
		to := func(x uint8) uint8 { return 8*k + x }
		for c := byte('0'); c <= '9'; c++ {
			n[start][c] = to(high)
			n[low][c] = to(anyDigit)
			n[high][c] = to(full)
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

// Match reports whether t is a dotted quad of d's spelling.
func Match[T string | []byte](d *DFA, t T) bool {
	if len(t) < 7 || len(t) > 15 {
		return false
	}
	st := uint8(0)
	for i := 0; i < len(t); i++ {
		st = d.next[st&31][t[i]]
	}
	return d.accept[st&31]
}
