package resourcegraph

import (
	"fmt"
	"strings"
	"unicode"
)

// Token kinds of the query language.
const (
	tokEOF    = iota
	tokIdent  // where, Resources, resourceGroup, and, in~ ...
	tokString // 'text' or "text"
	tokNumber // 10
	tokPunct  // | ( ) , [ ] . == =~ != !~
)

// token is one lexical unit of a query; pos is its byte offset.
type token struct {
	kind int
	text string
	pos  int
}

// lex splits a query into tokens.
func lex(q string) ([]token, error) {
	var out []token
	for i := 0; i < len(q); {
		c := q[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '\'' || c == '"':
			s, n, err := lexString(q, i)
			if err != nil {
				return nil, err
			}
			out = append(out, token{tokString, s, i})
			i += n
		case c >= '0' && c <= '9':
			j := i
			for j < len(q) && q[j] >= '0' && q[j] <= '9' {
				j++
			}
			out = append(out, token{tokNumber, q[i:j], i})
			i = j
		case c == '_' || unicode.IsLetter(rune(c)):
			j := i
			for j < len(q) && (q[j] == '_' || unicode.IsLetter(rune(q[j])) || q[j] >= '0' && q[j] <= '9') {
				j++
			}
			if j < len(q) && q[j] == '~' && strings.EqualFold(q[i:j], "in") {
				j++ // in~
			}
			out = append(out, token{tokIdent, q[i:j], i})
			i = j
		default:
			n := punctLen(q[i:])
			if n == 0 {
				return nil, fmt.Errorf("unexpected character %q at position %d", c, i)
			}
			out = append(out, token{tokPunct, q[i : i+n], i})
			i += n
		}
	}
	return append(out, token{tokEOF, "", len(q)}), nil
}

// punctLen returns the length of the punctuation at the start of s, or 0.
func punctLen(s string) int {
	for _, p := range []string{"==", "=~", "!=", "!~", "<=", ">="} {
		if strings.HasPrefix(s, p) {
			return 2
		}
	}
	// Besides the subset's own, the rest of KQL's punctuation, so that the parser names what
	// it does not support.
	if strings.ContainsRune("|(),[].=<>+-*/%;:!~{}", rune(s[0])) {
		return 1
	}
	return 0
}

// lexString reads the quoted string starting at q[i] and returns its value and its length in
// q. A backslash escapes the next character.
func lexString(q string, i int) (string, int, error) {
	quote := q[i]
	var b strings.Builder
	for j := i + 1; j < len(q); j++ {
		switch q[j] {
		case '\\':
			if j+1 < len(q) {
				j++
				b.WriteByte(q[j])
			}
		case quote:
			return b.String(), j + 1 - i, nil
		default:
			b.WriteByte(q[j])
		}
	}
	return "", 0, fmt.Errorf("unterminated string literal at position %d", i)
}
