package main

import (
	"bytes"
	"net/http"
	"regexp"
	"testing"

	"github.com/strata-dev/strata/internal/emulator/emulatortest"
)

// TestQuickstartSummaryInventoryCommand: the inventory command quickstart prints works as it
// is printed, admin token included.
func TestQuickstartSummaryInventoryCommand(t *testing.T) {
	env := emulatortest.Start(t)
	var out bytes.Buffer
	printQuickstartSummary(&out, env.Emulator, "http://127.0.0.1:7080", t.TempDir(), nil, false)
	m := regexp.MustCompile(`curl (\S+/_emulator/inventory)(.*)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no inventory command in:\n%s", out.String())
	}
	req, _ := http.NewRequest(http.MethodGet, m[1], nil)
	for _, h := range regexp.MustCompile(`-H '([^:']+): ([^']*)'`).FindAllStringSubmatch(m[2], -1) {
		req.Header.Set(h[1], h[2])
	}
	resp, err := env.HTTPClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the printed command %q: %d, want 200", m[0], resp.StatusCode)
	}
}
