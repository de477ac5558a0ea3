package storage

import (
	"encoding/base64"
	"strings"
	"testing"
)

func TestAccountNamePattern(t *testing.T) {
	for _, ok := range []string{"abc", "strata123", strings.Repeat("a", 24)} {
		if !accountNamePattern.MatchString(ok) {
			t.Errorf("%s refused", ok)
		}
	}
	for _, bad := range []string{"ab", strings.Repeat("a", 25), "Strata", "str-ata", "str_ata", "stråta"} {
		if accountNamePattern.MatchString(bad) {
			t.Errorf("%s accepted", bad)
		}
	}
	want := "Bad is not a valid storage account name. Storage account name must be between 3 and 24 characters in length and use numbers and lower-case letters only."
	if got := invalidNameMessage("Bad"); got != want {
		t.Errorf("message %q", got)
	}
}

func TestContainerNames(t *testing.T) {
	for _, ok := range []string{"abc", "vhds", "logs-2026", "a-b-c", strings.Repeat("a", 63), "$root", "$web"} {
		if err := checkContainerName(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"ab", strings.Repeat("a", 64), "Abc", "a--b", "-ab", "ab-", "a_b", "a.b", "$other"} {
		err := checkContainerName(bad)
		if err == nil || err.Code != "ContainerOperationFailure" || err.Status != 400 {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestNewKey(t *testing.T) {
	k1 := newKey(42, "acct", "key1")
	if b, err := base64.StdEncoding.DecodeString(k1); err != nil || len(b) != 64 {
		t.Fatalf("key %q is not base64 of 64 bytes", k1)
	}
	if newKey(42, "ACCT", "key1") != k1 {
		t.Error("keys depend on the name's case")
	}
	if newKey(42, "acct", "key2") == k1 || newKey(43, "acct", "key1") == k1 || newKey(42, "other", "key1") == k1 {
		t.Error("keys do not depend on the seed, the account and the key name")
	}
}
