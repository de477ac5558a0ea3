package password

import (
	"errors"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	tests := map[string]string{
		"correct horse battery": "",
		"short":                 "at least 12",
		strings.Repeat("a", 73): "at most 72",
		" leading space here":   "white space",
		"tab\tinside password":  "control characters",
		"\xff\xfe invalid utf8": "UTF-8",
		strings.Repeat("é", 36): "",
	}
	for pw, want := range tests {
		err := Validate(pw)
		if (want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), want)) {
			t.Errorf("Validate(%q) = %v, want %q", pw, err, want)
		}
	}
}

func TestHashAndCheck(t *testing.T) {
	h, err := Hash("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(h), "horse") {
		t.Fatal("the hash holds the password")
	}
	tests := []struct {
		hash []byte
		pw   string
		want error
	}{
		{h, "correct horse battery", nil},
		{h, "correct horse batterY", ErrMismatch},
		{nil, "correct horse battery", ErrMismatch},
		{[]byte("not a hash"), "correct horse battery", ErrMismatch},
	}
	for _, tt := range tests {
		if err := Check(tt.hash, tt.pw); !errors.Is(err, tt.want) {
			t.Errorf("Check(%q) = %v, want %v", tt.pw, err, tt.want)
		}
	}
	if _, err := Hash("short"); err == nil {
		t.Error("Hash of a short password")
	}
	h2, _ := Hash("correct horse battery")
	if string(h2) == string(h) {
		t.Error("two hashes of one password are equal: no salt")
	}
}
