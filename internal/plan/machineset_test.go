package plan

import (
	"strings"
	"testing"
)

func TestMachinePlace(t *testing.T) {
	for _, tc := range []struct {
		name         string
		controlPlane bool
		i, gen       int
		role         machineRole
		after        string
	}{
		{"first control-plane machine inits", true, 0, 0, roleInit, ""},
		{"other control-plane machines join after the one before", true, 2, 0, roleControlPlane, "vm/prev"},
		{"a new first control-plane machine joins the running cluster", true, 0, 1, roleControlPlane, ""},
		{"a new control-plane machine waits for none", true, 2, 3, roleControlPlane, ""},
		{"workers join after the first", false, 0, 0, roleWorker, "vm/first"},
		{"a new worker waits for none", false, 1, 1, roleWorker, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			role, after := machinePlace(tc.controlPlane, tc.i, tc.gen, "vm/first", "vm/prev")
			if role != tc.role || after != tc.after {
				t.Errorf("machinePlace = %v, %q; want %v, %q", role, after, tc.role, tc.after)
			}
		})
	}
}

func TestMachineOfKey(t *testing.T) {
	pools := []string{"control-plane", "workers", "gpu-g1"}
	for _, tc := range []struct {
		key  string
		slot string
		gen  int
		ok   bool
	}{
		{"vm/workers-2", "workers-2", 0, true},
		{"nic/workers-2-g3", "workers-2", 3, true},
		{"osdisk/control-plane-0-g1", "control-plane-0", 1, true},
		{"vm/gpu-g1-0", "gpu-g1-0", 0, true},
		{"vm/gpu-g1-0-g2", "gpu-g1-0", 2, true},
		{"vm/workers-02", "", 0, false},
		{"vm/other-1", "", 0, false},
		{"vm/workers-1-g0", "", 0, false},
		{"image-g1", "", 0, false},
		{"subnet/workers", "", 0, false},
	} {
		slot, gen, ok := MachineOfKey(tc.key, pools)
		if slot != tc.slot || gen != tc.gen || ok != tc.ok {
			t.Errorf("MachineOfKey(%q) = %q, %d, %v; want %q, %d, %v", tc.key, slot, gen, ok, tc.slot, tc.gen, tc.ok)
		}
	}
	for key, want := range map[string]int{"image": 0, "image-g2": 2, "vhd-copy": 0, "vhd-copy-g1": 1, "imagex": -1, "vm/image-1": -1, "image-g0": -1, "image-g01": -1} {
		gen, ok := ImageOfKey(key)
		if !ok {
			gen = -1
		}
		if gen != want {
			t.Errorf("ImageOfKey(%q) = %d, %v; want %d", key, gen, ok, want)
		}
	}
	if got := TemplateImage("kubernetes 1.30.4, os ubuntu 1.0.0 (image 1f2e3d4c)"); got != "1f2e3d4c" {
		t.Errorf("TemplateImage = %q", got)
	}
}

// TestGenerations builds the dynamic example mid-upgrade: the first control-plane slot at
// generation 1 (a join of the running cluster), the other control-plane slots left out, the
// workers at generation 0 and 2, and the image at generation 1.
func TestGenerations(t *testing.T) {
	in := testCases(t)[0].in
	in.Machines = map[string]int{"control-plane-0": 1, "control-plane-1": SkipMachine, "control-plane-2": SkipMachine, "workers-1": 2}
	in.ImageGeneration = 1
	g := build(t, in)
	if err := validate(g); err != nil {
		t.Fatal(err)
	}
	var vms []string
	for _, n := range g.Nodes {
		if n.Kind == KindVirtualMachine {
			vms = append(vms, n.Key)
		}
	}
	if got, want := strings.Join(vms, " "), "vm/control-plane-0-g1 vm/workers-0 vm/workers-1-g2 vm/workers-2"; got != want {
		t.Fatalf("VMs %s, want %s", got, want)
	}
	template, err := MachineTemplate(in)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(template, "kubernetes 1.30.4, os ") {
		t.Errorf("template %q", template)
	}
	cp := g.Node("vm/control-plane-0-g1")
	if !strings.HasSuffix(cp.ID, "/virtualMachines/"+in.Cluster.Metadata.Name+"-control-plane-0-g1") || cp.Template != template {
		t.Errorf("new control-plane VM: ID %s, template %q", cp.ID, cp.Template)
	}
	data := customData(t, cp)
	if !strings.Contains(data, "kind: JoinConfiguration") || !strings.Contains(data, "certificateKey") || strings.Contains(data, "InitConfiguration") {
		t.Errorf("a new first control-plane machine must join the running cluster as a control-plane member:\n%s", data)
	}
	if !strings.Contains(data, "path: "+KubernetesVersionPath) {
		t.Errorf("no %s in the custom data", KubernetesVersionPath)
	}
	for _, key := range []string{"vm/control-plane-0-g1", "vm/workers-0", "vm/workers-1-g2"} {
		for _, d := range g.Node(key).DependsOn {
			if strings.HasPrefix(d, "vm/") {
				t.Errorf("%s depends on %s: no machine waits for another once the cluster runs", key, d)
			}
		}
		if !strings.Contains(strings.Join(g.Node(key).DependsOn, " "), "image-g1") {
			t.Errorf("%s does not depend on the image of generation 1: %v", key, g.Node(key).DependsOn)
		}
	}
	image := g.Node("image-g1")
	if image == nil || !strings.HasSuffix(image.ID, "-os-image-g1") || g.Node("vhd-copy-g1") == nil ||
		!strings.HasSuffix(g.Node("vhd-copy-g1").ID, "-os-g1.vhd") || g.Node("image") != nil {
		t.Fatalf("image of generation 1 missing or misnamed: %+v", image)
	}
	if fp, _ := ImageFingerprint(in); image.Template != fp || fp == "" {
		t.Errorf("image template %q, want the fingerprint %q", image.Template, fp)
	}
}

func TestIsControlPlaneVM(t *testing.T) {
	c := testCases(t)[0].in.Cluster
	for key, want := range map[string]bool{
		"vm/control-plane-0": true, "vm/control-plane-0-g2": true, "vm/control-plane-2-g1": true,
		"nic/control-plane-0": false, "vm/workers-0": false, "vm/workers-0-g1": false, "image": false,
	} {
		if got := IsControlPlaneVM(c, key); got != want {
			t.Errorf("IsControlPlaneVM(%q) = %v", key, got)
		}
	}
}
