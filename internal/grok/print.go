package grok

import (
	"fmt"
	"strconv"
	"strings"
)

// dialect says how a tree is printed: for Go's regexp (RE2 syntax) or for
// github.com/dlclark/regexp2 (.NET syntax, with RegexOptions Multiline and
// Singleline).
type dialect uint8

const (
	dialectRE2 dialect = iota
	dialectNET
)

// errUnprintable is returned for a construct the dialect lacks.
type errUnprintable struct{ what string }

func (e errUnprintable) Error() string { return e.what }

func printNode(n *node, d dialect) (string, error) {
	var b strings.Builder
	if err := printTo(&b, n, d); err != nil {
		return "", err
	}
	return b.String(), nil
}

func groupName(cap int) string { return "g" + strconv.Itoa(cap) }

func printTo(b *strings.Builder, n *node, d dialect) error {
	switch n.kind {
	case kClass:
		printSet(b, n.set, d)
	case kEmpty:
		b.WriteString("(?:)")
	case kFail:
		if d == dialectRE2 {
			b.WriteString(`[^\x00-\x{10FFFF}]`)
		} else {
			b.WriteString("(?!)")
		}
	case kConcat:
		for _, s := range n.subs {
			if s.kind == kAlt {
				b.WriteString("(?:")
				if err := printTo(b, s, d); err != nil {
					return err
				}
				b.WriteString(")")
				continue
			}
			if err := printTo(b, s, d); err != nil {
				return err
			}
		}
	case kAlt:
		for i, s := range n.subs {
			if i > 0 {
				b.WriteByte('|')
			}
			if err := printTo(b, s, d); err != nil {
				return err
			}
		}
	case kGroup:
		if n.name == "" {
			b.WriteString("(?:")
		} else if d == dialectRE2 {
			b.WriteString("(?P<" + groupName(n.cap) + ">")
		} else {
			b.WriteString("(?<" + groupName(n.cap) + ">")
		}
		if err := printTo(b, n.subs[0], d); err != nil {
			return err
		}
		b.WriteByte(')')
	case kAtomic:
		if d == dialectRE2 {
			return errUnprintable{"an atomic group (?>...)"}
		}
		b.WriteString("(?>")
		if err := printTo(b, n.subs[0], d); err != nil {
			return err
		}
		b.WriteByte(')')
	case kLook:
		if d == dialectRE2 {
			return errUnprintable{"a lookaround"}
		}
		switch {
		case n.behind && n.neg:
			b.WriteString("(?<!")
		case n.behind:
			b.WriteString("(?<=")
		case n.neg:
			b.WriteString("(?!")
		default:
			b.WriteString("(?=")
		}
		if err := printTo(b, n.subs[0], d); err != nil {
			return err
		}
		b.WriteByte(')')
	case kBackref:
		if d == dialectRE2 {
			return errUnprintable{"a backreference"}
		}
		fmt.Fprintf(b, `\k<%s>`, groupName(n.cap))
	case kRepeat:
		if n.possessive && d == dialectRE2 {
			return errUnprintable{"a possessive repetition"}
		}
		if n.possessive {
			b.WriteString("(?>")
		}
		b.WriteString("(?:")
		if err := printTo(b, n.subs[0], d); err != nil {
			return err
		}
		b.WriteString(")")
		switch {
		case n.min == 0 && n.max < 0:
			b.WriteByte('*')
		case n.min == 1 && n.max < 0:
			b.WriteByte('+')
		case n.min == 0 && n.max == 1:
			b.WriteByte('?')
		case n.max < 0:
			fmt.Fprintf(b, "{%d,}", n.min)
		case n.min == n.max:
			fmt.Fprintf(b, "{%d}", n.min)
		default:
			fmt.Fprintf(b, "{%d,%d}", n.min, n.max)
		}
		if !n.greedy {
			b.WriteByte('?')
		}
		if n.possessive {
			b.WriteByte(')')
		}
	case kAssert:
		return printAssert(b, n, d)
	}
	return nil
}

const wordClass = `[0-9A-Z_a-z]`

func printAssert(b *strings.Builder, n *node, d dialect) error {
	re2 := d == dialectRE2
	switch n.at {
	case aBOL:
		if re2 {
			b.WriteString("(?m:^)")
		} else {
			b.WriteString("^")
		}
	case aEOL:
		if re2 {
			b.WriteString("(?m:$)")
		} else {
			b.WriteString("(?=\\n|\\z)")
		}
	case aBOT:
		b.WriteString(`\A`)
	case aEOT:
		b.WriteString(`\z`)
	case aEOTZ:
		if re2 {
			return errUnprintable{`\Z`}
		}
		b.WriteString(`\Z`)
	case aWordB, aNWordB:
		if re2 {
			if n.at == aWordB {
				b.WriteString(`\b`)
			} else {
				b.WriteString(`\B`)
			}
			return nil
		}
		// ASCII word characters, as Ruby's \b
		if n.at == aWordB {
			b.WriteString(`(?:(?<=` + wordClass + `)(?!` + wordClass + `)|(?<!` + wordClass + `)(?=` + wordClass + `))`)
		} else {
			b.WriteString(`(?:(?<=` + wordClass + `)(?=` + wordClass + `)|(?<!` + wordClass + `)(?!` + wordClass + `))`)
		}
	case aPrevIn, aPrevNotIn, aNextIn, aNextNotIn:
		if re2 {
			return errUnprintable{"a lookaround"}
		}
		b.WriteString(map[assertion]string{aPrevIn: "(?<=", aPrevNotIn: "(?<!", aNextIn: "(?=", aNextNotIn: "(?!"}[n.at])
		printSet(b, n.set, d)
		b.WriteByte(')')
	}
	return nil
}

func printSet(b *strings.Builder, s runeSet, d dialect) {
	if len(s) == 2 && s[0] == s[1] {
		printRune(b, s[0], d, false)
		return
	}
	if len(s) == 2 && s[0] == 0 && s[1] == maxRune {
		if d == dialectRE2 {
			b.WriteString(`(?s:.)`)
		} else {
			b.WriteString(`[\s\S]`)
		}
		return
	}
	neg := s.negate()
	b.WriteByte('[')
	if len(neg) < len(s) {
		b.WriteByte('^')
		s = neg
	}
	for i := 0; i < len(s); i += 2 {
		printRune(b, s[i], d, true)
		if s[i+1] != s[i] {
			if s[i+1] > s[i]+1 {
				b.WriteByte('-')
			}
			printRune(b, s[i+1], d, true)
		}
	}
	b.WriteByte(']')
}

func printRune(b *strings.Builder, r rune, d dialect, inClass bool) {
	switch {
	case r < 0x20 || r == 0x7f || (r >= 0xd800 && r <= 0xdfff):
		if d == dialectRE2 {
			fmt.Fprintf(b, `\x{%x}`, r)
		} else {
			fmt.Fprintf(b, `\u%04x`, r)
		}
	case r > 0xffff:
		if d == dialectRE2 {
			fmt.Fprintf(b, `\x{%x}`, r)
		} else {
			b.WriteRune(r) // regexp2 reads the pattern as runes
		}
	case r >= 0x80:
		if d == dialectRE2 {
			fmt.Fprintf(b, `\x{%x}`, r)
		} else {
			fmt.Fprintf(b, `\u%04x`, r)
		}
	case inClass && d == dialectNET && !(r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z'):
		fmt.Fprintf(b, `\u%04x`, r) // no doubt about ranges and escapes
	case inClass && strings.ContainsRune(`\]-^[`, r):
		b.WriteByte('\\')
		b.WriteRune(r)
	case !inClass && strings.ContainsRune(`\.+*?()|[]{}^$#`, r):
		b.WriteByte('\\')
		b.WriteRune(r)
	case r == ' ' || r == '#':
		if d == dialectNET {
			b.WriteByte('\\') // harmless, and safe under x
		}
		b.WriteRune(r)
	default:
		b.WriteRune(r)
	}
}
