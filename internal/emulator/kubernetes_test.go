package emulator_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strata-dev/strata/internal/emulator"
	"github.com/strata-dev/strata/internal/emulator/kube"
)

// TestKubernetesBinaries decides where the binaries come from, and says in one line why
// Kubernetes is off.
func TestKubernetesBinaries(t *testing.T) {
	full := t.TempDir()
	for _, b := range kube.Binaries {
		if err := os.WriteFile(filepath.Join(full, b), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	empty := t.TempDir()
	cases := []struct {
		name       string
		on         bool
		dir, env   string
		wantBin    string
		wantNote   string
		wantErrSub string
	}{
		{name: "off", on: false, dir: full, wantNote: "off (--kubernetes=false)"},
		{name: "given and there", on: true, dir: full, wantBin: full, wantNote: "on: Kubernetes " + kube.Version},
		{name: "given and missing", on: true, dir: empty, wantErrSub: "--kubernetes-bin: etcd, kube-apiserver, kube-controller-manager, kube-scheduler missing"},
		{name: "default and there", on: true, env: full, wantBin: full, wantNote: "on: Kubernetes"},
		{name: "default and missing", on: true, env: empty, wantNote: "off: etcd, kube-apiserver, kube-controller-manager, kube-scheduler missing from " + empty + " (make k8s builds them)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("STRATA_K8S_DIR", c.env)
			bin, note, err := emulator.KubernetesBinaries(c.on, c.dir)
			if c.wantErrSub != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErrSub) {
					t.Fatalf("err = %v, want one with %q", err, c.wantErrSub)
				}
				return
			}
			if err != nil || bin != c.wantBin || !strings.HasPrefix(note, c.wantNote) || strings.Contains(note, "\n") {
				t.Fatalf("KubernetesBinaries = %q, %q, %v; want %q and a one-line note starting %q", bin, note, err, c.wantBin, c.wantNote)
			}
		})
	}
}
