package cli

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/emulator/arm"
	"github.com/strata-dev/strata/internal/store"
)

// The escape sequences of the issue: one retitles the terminal, one clears it. Messages below
// also hold U+009B, the one-character C1 form of ESC [.
const (
	retitle = "\x1b]0;pwned\x07"
	clear   = "\x1b[2J"
)

// rawControl reports the first terminal control character in s, if any.
func rawControl(s string) (rune, bool) {
	for _, r := range s {
		if r == 0x1b || r == 0x07 || r == 0x9b {
			return r, true
		}
	}
	return 0, false
}

// TestServerTextIsEscaped sends messages holding escape sequences through a real server, as a
// cluster's condition, progress step and event and as an error, and checks that no human
// output carries them raw while -o yaml and -o json keep them exactly.
func TestServerTextIsEscaped(t *testing.T) {
	srv, st := apiServer(t)
	applyExamples(t, srv, "cloudaccount.yaml", "profile-iaas.yaml", "cluster-iaas-dynamic.yaml")
	now := time.Now()
	condMsg := "AuthorizationFailed: " + retitle + clear + " \u009b2J denied"
	var uid string // an event belongs to its object's UID
	setClusterStatus(t, st, "iaas-dynamic", func(c *v1alpha1.Cluster) {
		uid = c.Metadata.UID
		c.Status.Phase = "Failed"
		c.Status.Conditions = []v1alpha1.Condition{{Type: "Ready", Status: "False", Reason: "Auth" + clear, Message: condMsg, LastTransitionTime: &now}}
		c.Status.Progress = &v1alpha1.Progress{Done: 1, Total: 26, Step: "creating " + retitle}
	})
	if err := st.RecordEvent(context.Background(), store.Event{Kind: v1alpha1.KindCluster, Key: "iaas-dynamic", UID: uid,
		Type: "Warning", Reason: "Failed", Message: "Azure said " + retitle + clear, Time: now}); err != nil {
		t.Fatal(err)
	}

	for _, args := range [][]string{
		{"get", "clusters"},
		{"get", "clusters", "-o", "wide"},
		{"describe", "cluster", "iaas-dynamic"},
		{"describe", "clusters"},
	} {
		code, out, errOut := run(t, "", append([]string{"--server", srv}, args...)...)
		if code != 0 {
			t.Errorf("%v: exit %d\nstderr:\n%s", args, code, errOut)
		}
		if r, ok := rawControl(out + errOut); ok {
			t.Errorf("%v prints the control character %U raw:\n%q", args, r, out+errOut)
		}
		if args[0] == "describe" && !strings.Contains(out, `AuthorizationFailed: \x1b]0;pwned\x07\x1b[2J \u009b2J denied`) {
			t.Errorf("%v does not show the condition's message escaped:\n%s", args, out)
		}
	}

	for _, format := range []string{"yaml", "json"} {
		code, out, errOut := run(t, "", "--server", srv, "get", "cluster", "iaas-dynamic", "-o", format)
		if code != 0 {
			t.Fatalf("-o %s: exit %d\nstderr:\n%s", format, code, errOut)
		}
		if r, ok := rawControl(out); ok {
			t.Errorf("-o %s prints the control character %U raw:\n%s", format, r, out)
		}
		objs, err := v1alpha1.Decode([]byte(out))
		if err != nil || len(objs) != 1 {
			t.Fatalf("-o %s does not decode: %v\n%s", format, err, out)
		}
		if got := objs[0].(*v1alpha1.Cluster).Status.Conditions[0].Message; got != condMsg {
			t.Errorf("-o %s changed the message to %q", format, got)
		}
	}

}

// TestAzureErrorIsEscaped checks the error of a lookup whose answer from Azure (the emulator,
// through a real server) holds escape sequences in its code and message.
func TestAzureErrorIsEscaped(t *testing.T) {
	srv, env := lookupServerEnv(t)
	fault := arm.FaultRule{Method: http.MethodGet, Status: http.StatusForbidden, Rate: 1,
		Code: "AuthorizationFailed" + clear, Message: "denied on 'rg" + retitle + clear + "'"}
	if st := env.Admin(t, http.MethodPut, "/_emulator/faults", []arm.FaultRule{fault}, nil); st != http.StatusOK {
		t.Fatalf("set the fault: %d", st)
	}
	code, out, errOut := run(t, "", "--server", srv, "lookup", "vnets", "--account", "emu", "--subscription", env.SubscriptionID, "-g", "cli-rg")
	if code != 1 || !strings.Contains(errOut, "AuthorizationFailed") {
		t.Fatalf("lookup answered by a fault: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if r, ok := rawControl(out + errOut); ok {
		t.Errorf("the error prints the control character %U raw:\n%q", r, errOut)
	}
	for _, want := range []string{`AuthorizationFailed\x1b[2J`, `denied on 'rg\x1b]0;pwned\x07\x1b[2J'`} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
}
