package termtext

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

func TestEscape(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"plain ASCII", "creating vm/workers-1", "creating vm/workers-1"},
		{"plain UTF-8", "Zürich – 東京 ✓", "Zürich – 東京 ✓"},
		{"newline and tab kept", "a\tb\nc", "a\tb\nc"},
		{"OSC title", "\x1b]0;pwned\x07", `\x1b]0;pwned\x07`},
		{"clear screen", "\x1b[2J", `\x1b[2J`},
		{"carriage return", "ok\rFAKE", `ok\x0dFAKE`},
		{"backspace and NUL", "a\bb\x00", `a\x08b\x00`},
		{"DEL", "del\x7f", `del\x7f`},
		{"C1 CSI", "c1\u009b2J", `c1\u009b2J`},
		{"C1 NEL", "a\u0085b", `a\u0085b`},
		{"bidi override", "txt\u202eexe.pdf", `txt\u202eexe.pdf`},
		{"bidi isolates", "\u2066a\u2069", `\u2066a\u2069`},
		{"bidi marks", "\u200e\u200f\u061c", `\u200e\u200f\u061c`},
		{"line separators", "a\u2028b\u2029c", `a\u2028b\u2029c`},
		{"invalid UTF-8", "bad\xff\xfeend", `bad\xff\xfeend`},
		{"truncated rune", "x\xe6\x97", `x\xe6\x97`},
		{"empty", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Escape(c.in)
			if got != c.want {
				t.Errorf("Escape(%q) = %q, want %q", c.in, got, c.want)
			}
			if again := Escape(got); again != got {
				t.Errorf("Escape is not idempotent: Escape(%q) = %q", got, again)
			}
		})
	}
}

func TestWriter(t *testing.T) {
	var b bytes.Buffer
	w := NewWriter(&b)
	n, err := w.Write([]byte("error: \x1b]0;pwned\x07 \x1b[2J\n"))
	if err != nil || n != len("error: \x1b]0;pwned\x07 \x1b[2J\n") {
		t.Fatalf("Write = %d, %v", n, err)
	}
	if want := "error: \\x1b]0;pwned\\x07 \\x1b[2J\n"; b.String() != want {
		t.Errorf("wrote %q, want %q", b.String(), want)
	}
}

// TestJSON checks that escaping JSON text keeps the data exact and leaves no control
// character, and that YAML made from it escapes them too (sigs.k8s.io/yaml refuses raw DEL and
// C1 characters in its JSON input).
func TestJSON(t *testing.T) {
	values := []string{
		"\x1b]0;pwned\x07", "\x1b[2J", "del\x7f", "c1\u009b2J", "nel\u0085x",
		"txt\u202eexe", "a\u2028b\u2029c", "Zürich ✓",
	}
	data, err := json.Marshal(values)
	if err != nil {
		t.Fatal(err)
	}
	esc := JSON(data)
	if Escape(string(esc)) != string(esc) {
		t.Errorf("escaped JSON still holds characters to escape: %q", esc)
	}
	var back []string
	if err := json.Unmarshal(esc, &back); err != nil {
		t.Fatalf("escaped JSON does not decode: %v\n%s", err, esc)
	}
	if strings.Join(back, "|") != strings.Join(values, "|") {
		t.Errorf("escaped JSON decodes to %q, want %q", back, values)
	}
	y, err := yaml.JSONToYAML(esc)
	if err != nil {
		t.Fatalf("YAML of the escaped JSON: %v", err)
	}
	for _, r := range string(y) {
		if r < 0x20 && r != '\n' || r == 0x7f || r >= 0x80 && r <= 0x9f {
			t.Errorf("YAML holds the control character %U:\n%q", r, y)
		}
	}
	back = nil
	if err := yaml.Unmarshal(y, &back); err != nil || strings.Join(back, "|") != strings.Join(values, "|") {
		t.Errorf("YAML decodes to %q (%v), want %q", back, err, values)
	}
	if got := string(JSON([]byte(`{"a":"plain"}`))); got != `{"a":"plain"}` {
		t.Errorf("JSON changed plain text: %s", got)
	}
}
