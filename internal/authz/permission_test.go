package authz

import (
	"strings"
	"testing"
)

func TestValidatePermission(t *testing.T) {
	tests := []struct {
		perm    string
		wantErr string // a substring of the error; empty for valid
	}{
		{"*", ""},
		{"cluster.*", ""},
		{"cluster.get", ""},
		{"cluster.kubeconfig", ""},
		{"cluster.kubeconfig-admin", ""},
		{"cloudAccount.use", ""},
		{"clusterProfile.use", ""},
		{"privateCloudGateway.token", ""},
		{"apiKey.delete", ""},
		{"audit.list", ""},
		{"audit.*", ""},
		{"cluster", "want <kind>.<verb>"},
		{"", "want <kind>.<verb>"},
		{"clustr.get", `unknown kind "clustr"`},
		{"Cluster.get", `unknown kind "Cluster"`},
		{"*.get", `unknown kind "*"`},
		{"cluster.publish", `unknown verb "publish" for kind cluster`},
		{"cloudAccount.kubeconfig", `unknown verb "kubeconfig" for kind cloudAccount`},
		{"cluster.use", `unknown verb "use" for kind cluster`},
		{"cluster.token", `unknown verb "token" for kind cluster`},
		{"audit.delete", `unknown verb "delete" for kind audit`},
		{"cluster.", `unknown verb ""`},
	}
	for _, tt := range tests {
		t.Run(tt.perm, func(t *testing.T) {
			err := ValidatePermission(tt.perm)
			checkErr(t, err, tt.wantErr)
		})
	}
}

func TestParseRequested(t *testing.T) {
	tests := []struct {
		perm, wantErr string
	}{
		{"cluster.get", ""},
		{"*", "not a wildcard"},
		{"cluster.*", "not a wildcard"},
		{"clustr.get", `unknown kind "clustr"`},
	}
	for _, tt := range tests {
		t.Run(tt.perm, func(t *testing.T) {
			_, _, err := parseRequested(tt.perm)
			checkErr(t, err, tt.wantErr)
		})
	}
}

func TestKindForAPI(t *testing.T) {
	tests := []struct {
		api, want, wantErr string
	}{
		{"Cluster", KindCluster, ""},
		{"ClusterProfile", KindClusterProfile, ""},
		{"CloudAccount", KindCloudAccount, ""},
		{"PrivateCloudGateway", KindPrivateCloudGateway, ""},
		{"TagFilter", KindFilter, ""},
		{"RoleBinding", KindBinding, ""},
		{"APIKey", KindAPIKey, ""},
		{"cluster", "", `"cluster"`},
		{"Gadget", "", `API kind "Gadget"`},
	}
	for _, tt := range tests {
		t.Run(tt.api, func(t *testing.T) {
			got, err := KindForAPI(tt.api)
			checkErr(t, err, tt.wantErr)
			if got != tt.want {
				t.Errorf("KindForAPI(%q) = %q, want %q", tt.api, got, tt.want)
			}
		})
	}
}

func TestKindsAndVerbs(t *testing.T) {
	if got := len(Kinds()); got != 12 {
		t.Errorf("%d kinds, want 12", got)
	}
	for _, k := range Kinds() {
		for _, v := range Verbs(k) {
			if err := ValidatePermission(Perm(k, v)); err != nil {
				t.Errorf("Verbs(%s) has %s: %v", k, v, err)
			}
		}
	}
	if Verbs("nope") != nil {
		t.Error("Verbs of an unknown kind is not nil")
	}
	v := Verbs(KindCluster)
	v[0] = "mutated"
	if Verbs(KindCluster)[0] != VerbGet {
		t.Error("Verbs returns the package's own slice")
	}
}

func TestGrants(t *testing.T) {
	tests := []struct {
		held, requested string
		want            bool
	}{
		{"*", "cluster.get", true},
		{"*", "audit.list", true},
		{"cluster.*", "cluster.kubeconfig-admin", true},
		{"cluster.*", "clusterProfile.get", false},
		{"clusterProfile.*", "cluster.get", false},
		{"cluster.get", "cluster.get", true},
		{"cluster.get", "cluster.list", false},
		{"cluster.kubeconfig", "cluster.kubeconfig-admin", false},
	}
	for _, tt := range tests {
		if got := grants(tt.held, tt.requested); got != tt.want {
			t.Errorf("grants(%q, %q) = %v, want %v", tt.held, tt.requested, got, tt.want)
		}
	}
}

func TestBuiltinRoles(t *testing.T) {
	roles := map[string]Role{}
	for _, r := range BuiltinRoles() {
		if err := r.Validate(); err != nil {
			t.Errorf("built-in role %s: %v", r.Name, err)
		}
		roles[r.Name] = r
	}
	if len(roles) != 7 {
		t.Fatalf("%d built-in roles, want 7", len(roles))
	}
	tests := []struct {
		role string
		yes  []string
		no   []string
	}{
		{RoleAdmin, []string{"cluster.delete", "audit.list", "apiKey.create", "privateCloudGateway.token"}, nil},
		{RoleClusterAdmin,
			[]string{"cluster.get", "cluster.list", "cluster.create", "cluster.update", "cluster.delete", "cluster.kubeconfig", "cluster.kubeconfig-admin",
				"cloudAccount.use", "cloudAccount.get", "cloudAccount.list", "clusterProfile.use", "clusterProfile.get", "clusterProfile.list",
				"privateCloudGateway.get", "privateCloudGateway.list"},
			[]string{"cloudAccount.update", "clusterProfile.create", "privateCloudGateway.token", "user.get", "audit.list"}},
		{RoleClusterEditor,
			[]string{"cluster.get", "cluster.list", "cluster.create", "cluster.update", "cluster.delete", "cluster.kubeconfig",
				"cloudAccount.use", "cloudAccount.get", "cloudAccount.list", "clusterProfile.use", "clusterProfile.get", "clusterProfile.list"},
			[]string{"cluster.kubeconfig-admin", "cloudAccount.update", "privateCloudGateway.get", "clusterProfile.delete"}},
		{RoleClusterViewer, []string{"cluster.get", "cluster.list"},
			[]string{"cluster.update", "cluster.kubeconfig", "cloudAccount.get"}},
		{RoleProfileEditor, []string{"clusterProfile.get", "clusterProfile.create", "clusterProfile.delete", "clusterProfile.use"},
			[]string{"cluster.get", "cloudAccount.use"}},
		{RoleProfileViewer, []string{"clusterProfile.get", "clusterProfile.list", "clusterProfile.use"},
			[]string{"clusterProfile.update", "cluster.get"}},
		{RoleAccountAdmin, []string{"cloudAccount.create", "cloudAccount.use", "cloudAccount.delete", "privateCloudGateway.token", "privateCloudGateway.update"},
			[]string{"cluster.get", "clusterProfile.use"}},
	}
	for _, tt := range tests {
		t.Run(tt.role, func(t *testing.T) {
			r := roles[tt.role]
			for _, p := range tt.yes {
				if !r.has(p) {
					t.Errorf("%s lacks %s", tt.role, p)
				}
			}
			for _, p := range tt.no {
				if r.has(p) {
					t.Errorf("%s has %s", tt.role, p)
				}
			}
		})
	}
	BuiltinRoles()[0].Permissions[0] = "mutated"
	if BuiltinRoles()[0].Permissions[0] != Wildcard {
		t.Error("BuiltinRoles returns shared slices")
	}
}

func TestRoleValidate(t *testing.T) {
	tests := []struct {
		name    string
		role    Role
		wantErr string
	}{
		{"ok", Role{Name: "r", Permissions: []string{"cluster.get", "clusterProfile.*"}}, ""},
		{"no permissions", Role{Name: "r"}, "permissions: a role needs at least one permission"},
		{"bad permission", Role{Name: "r", Permissions: []string{"cluster.get", "cluster.fly"}}, `permissions[1]: permission "cluster.fly": unknown verb "fly"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkErr(t, tt.role.Validate(), tt.wantErr)
		})
	}
}

// checkErr fails unless err is nil and wantErr empty, or err contains wantErr.
func checkErr(t *testing.T, err error, wantErr string) {
	t.Helper()
	switch {
	case wantErr == "" && err != nil:
		t.Errorf("unexpected error: %v", err)
	case wantErr != "" && err == nil:
		t.Errorf("no error, want one containing %q", wantErr)
	case wantErr != "" && !strings.Contains(err.Error(), wantErr):
		t.Errorf("error %q does not contain %q", err, wantErr)
	}
}
