package client

import "strings"

// WithWarningHandler makes the client call handle with the text of each warning the server
// sends with a response (a Warning header of code 299, the way Kubernetes warns), such as a
// value it accepted but will ignore. kubectl prints them as "Warning: <text>" on stderr.
func WithWarningHandler(handle func(text string)) Option {
	return func(c *Client) { c.warn = handle }
}

// parseWarnings returns the texts of the code-299 warnings in Warning header values: each value
// holds one warning or several separated by commas, each a code, an agent, a quoted text and
// an optional quoted date (RFC 9111 section 5.5). It stops at a value it cannot read.
func parseWarnings(values []string) []string {
	var out []string
	for _, v := range values {
		rest := strings.TrimSpace(v)
		for rest != "" {
			code, text, tail, ok := parseWarning(rest)
			if !ok {
				break
			}
			if code == "299" {
				out = append(out, text)
			}
			rest = strings.TrimLeft(strings.TrimPrefix(tail, ","), " ")
		}
	}
	return out
}

// parseWarning reads one warning at the start of s and returns its code, its text and what
// follows it.
func parseWarning(s string) (code, text, rest string, ok bool) {
	code, rest, ok = strings.Cut(s, " ")
	if !ok {
		return "", "", s, false
	}
	if _, rest, ok = strings.Cut(strings.TrimLeft(rest, " "), " "); !ok { // the agent
		return "", "", s, false
	}
	if text, rest, ok = unquote(strings.TrimLeft(rest, " ")); !ok {
		return "", "", s, false
	}
	rest = strings.TrimLeft(rest, " ")
	if strings.HasPrefix(rest, `"`) { // the date
		if _, rest, ok = unquote(rest); !ok {
			return "", "", s, false
		}
	}
	return code, text, strings.TrimLeft(rest, " "), true
}

// unquote reads the quoted string at the start of s and returns its text and what follows.
func unquote(s string) (text, rest string, ok bool) {
	if !strings.HasPrefix(s, `"`) {
		return "", s, false
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			if i+1 < len(s) {
				i++
				b.WriteByte(s[i])
			}
		case '"':
			return b.String(), s[i+1:], true
		default:
			b.WriteByte(c)
		}
	}
	return "", s, false
}
