package client

import (
	"context"
	"errors"
	"net/http"
	"testing"
)

const testKubeconfig = "apiVersion: v1\nkind: Config\nclusters:\n- name: prod\n  cluster:\n    server: https://prod-abc.hcp.westeurope.azmk8s.io:443\n"

func TestKubeconfigWireFormat(t *testing.T) {
	type request struct{ method, path, query, accept string }
	var got []request
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		got = append(got, request{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Accept")})
		switch r.URL.Path {
		case APIPath + "/clusters/prod/kubeconfig":
			if r.URL.Query().Get("admin") == "true" {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusForbidden)
				_, _ = w.Write([]byte(`{"kind":"Status","code":403,"reason":"Forbidden","message":"admin kubeconfigs are off on this server"}`))
				return
			}
			w.Header().Set("Content-Type", "application/yaml")
			_, _ = w.Write([]byte(testKubeconfig))
		case APIPath + "/clusters/vms/kubeconfig":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusConflict)
			_, _ = w.Write([]byte(`{"kind":"Status","code":409,"reason":"NotReady","message":"cluster \"vms\" has no control plane in Azure yet (phase Provisioning)"}`))
		default:
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"kind":"Status","code":404,"reason":"NotFound","message":"Cluster \"nope\" not found"}`))
		}
	})
	ctx := context.Background()

	tests := []struct {
		name      string
		cluster   string
		admin     bool
		wantQuery string
		want      string // the kubeconfig, or
		reason    string // the reason of the APIError
		code      int
	}{
		{"user", "prod", false, "", testKubeconfig, "", 0},
		{"admin", "prod", true, "admin=true", "", ReasonForbidden, http.StatusForbidden},
		{"not ready", "vms", false, "", "", ReasonNotReady, http.StatusConflict},
		{"unknown", "nope", false, "", "", ReasonNotFound, http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got = nil
			kc, err := c.Kubeconfig(ctx, tt.cluster, tt.admin)
			if len(got) != 1 || got[0].method != http.MethodGet || got[0].path != APIPath+"/clusters/"+tt.cluster+"/kubeconfig" || got[0].query != tt.wantQuery {
				t.Fatalf("requests %+v, want one GET of %s?%s", got, tt.cluster, tt.wantQuery)
			}
			if tt.reason == "" {
				if err != nil || string(kc) != tt.want {
					t.Fatalf("Kubeconfig = %q, %v; want %q", kc, err, tt.want)
				}
				return
			}
			var ae *APIError
			if kc != nil || !errors.As(err, &ae) || ae.Reason != tt.reason || ae.Code != tt.code {
				t.Fatalf("Kubeconfig = %q, %v; want an APIError %d %s", kc, err, tt.code, tt.reason)
			}
		})
	}
	if _, err := c.Kubeconfig(ctx, "a/b", false); err == nil {
		t.Error("a cluster name with a slash was accepted")
	}
}
