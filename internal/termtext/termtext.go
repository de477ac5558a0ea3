// Package termtext makes text from a server or from Azure safe to print on a terminal: error
// codes, messages, conditions and events may hold escape sequences that would otherwise
// retitle, clear or rewrite the user's terminal, or bidirectional-text controls that reorder
// what is shown. Escape shows such characters visibly and keeps every other character,
// plain UTF-8 included; JSON does the same inside JSON text without changing the data.
package termtext

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// escaped reports whether Escape shows r as an escape: C0 controls other than tab and newline,
// DEL, C1 controls, the line and paragraph separators, and the bidirectional-text controls
// (marks, embeddings, overrides and isolates).
func escaped(r rune) bool {
	switch {
	case r == '\t' || r == '\n':
		return false
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f, r == 0x2028, r == 0x2029:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

// Escape returns s with every character a terminal would act on instead of showing made
// visible: a control byte becomes \xHH ("\x1b[2J" becomes `\x1b[2J`), a C1 control, a
// separator or a bidirectional control becomes \uHHHH, and a byte that is not UTF-8 \xHH.
// Tabs, newlines and all other text are kept, so Escape of a plain message is the message.
// Escape(Escape(s)) == Escape(s).
func Escape(s string) string {
	if !needsEscape(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case escaped(r) && r < 0x80:
			fmt.Fprintf(&b, `\x%02x`, r)
		case escaped(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// needsEscape reports whether s holds anything Escape changes.
func needsEscape(s string) bool {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size <= 1 || escaped(r) {
			return true
		}
		i += size
	}
	return false
}

// JSON returns JSON text with the characters Escape would show escaped written as \uHHHH
// escapes, which decode to the same data. encoding/json already escapes the C0 controls but
// writes DEL, C1 controls and bidirectional controls as they are; YAML made from the result
// with sigs.k8s.io/yaml escapes them as well (it refuses raw DEL and C1 characters).
// The input must be valid JSON: outside strings, JSON holds only ASCII that needs no escape.
func JSON(data []byte) []byte {
	s := string(data)
	if !strings.ContainsFunc(s, func(r rune) bool { return escaped(r) && r >= 0x7f }) {
		return data
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for _, r := range s {
		if escaped(r) && r >= 0x7f {
			fmt.Fprintf(&b, `\u%04x`, r)
			continue
		}
		b.WriteRune(r)
	}
	return []byte(b.String())
}

// Writer escapes, with Escape, everything written through it.
type Writer struct {
	w io.Writer
}

// NewWriter returns a Writer that escapes what it writes to w. Each Write is escaped on its
// own: write whole strings, as fmt.Fprintf does, so that no character is split between writes.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// Write writes the escape of p and reports len(p) written when all of it was.
func (w *Writer) Write(p []byte) (int, error) {
	if _, err := io.WriteString(w.w, Escape(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}
