package server

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/store"
)

// danglingReferences lists, for every stored object, each reference to an object that is not
// stored or is being deleted.
func danglingReferences(t *testing.T, st store.Store) []string {
	t.Helper()
	var out []string
	for _, kind := range v1alpha1.Kinds {
		res, err := st.List(t.Context(), kind, store.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, obj := range res.Items {
			for _, ref := range v1alpha1.References(obj) {
				target, err := st.Get(t.Context(), ref.Kind, ref.Key)
				switch {
				case err == nil && target.GetMetadata().DeletionTimestamp != nil:
					out = append(out, fmt.Sprintf("%s %q refers to %s %q, which is being deleted", kind, obj.Key(), ref.Kind, ref.Key))
				case err == nil:
				case errors.Is(err, store.ErrNotFound):
					out = append(out, fmt.Sprintf("%s %q refers to %s %q, which does not exist", kind, obj.Key(), ref.Kind, ref.Key))
				default:
					t.Fatal(err)
				}
			}
		}
	}
	return out
}

// TestReferenceRaces deletes an account, a profile and a gateway while a cluster that pins the
// account and the profile, and an account that uses the gateway, are being created, 50 times on
// each store: whichever write wins, nothing may end up referring to an object that is gone.
func TestReferenceRaces(t *testing.T) {
	const rounds = 50
	for _, ts := range testStores {
		t.Run(ts.name, func(t *testing.T) {
			st := ts.open(t)
			srv := newTestServerOn(t, st)
			outcomes := map[string]int{}
			for i := range rounds {
				gw, acct, prof := gateway(fmt.Sprintf("gw-%d", i)), account(fmt.Sprintf("acct-%d", i), "", testSecret), profile(fmt.Sprintf("prof-%d", i), "1.0.0")
				for _, o := range []v1alpha1.Object{gw, acct, prof} {
					srv.create(o)
				}
				cl := cluster(fmt.Sprintf("cl-%d", i), acct.Metadata.Name, prof)
				user := account(fmt.Sprintf("user-%d", i), gw.Metadata.Name, testSecret)
				reqs := []func() *response{
					func() *response { return srv.do(http.MethodDelete, objPath(acct), nil, "") },
					func() *response { return srv.do(http.MethodDelete, objPath(prof), nil, "") },
					func() *response { return srv.do(http.MethodDelete, objPath(gw), nil, "") },
					func() *response {
						return srv.do(http.MethodPost, kindPath(v1alpha1.KindCluster), encode(t, cl), "application/json")
					},
					func() *response {
						return srv.do(http.MethodPost, kindPath(v1alpha1.KindCloudAccount), encode(t, user), "application/json")
					},
				}
				results := make([]*response, len(reqs))
				start := make(chan struct{})
				var wg sync.WaitGroup
				for j, req := range reqs {
					wg.Go(func() {
						<-start
						results[j] = req()
					})
				}
				close(start)
				wg.Wait()
				for j, r := range results {
					switch {
					case r.code == http.StatusOK || r.code == http.StatusCreated:
					case j < 3 && r.code == http.StatusConflict && r.status(t).Reason == ReasonInUse:
					case j >= 3 && r.code == http.StatusUnprocessableEntity && r.status(t).Reason == ReasonInvalid:
					default:
						t.Errorf("round %d, request %d: %d %s", i, j, r.code, r.body)
					}
					outcomes[fmt.Sprintf("request %d: %d", j, r.code)]++
				}
			}
			t.Logf("outcomes: %v", outcomes)
			if d := danglingReferences(t, st); len(d) > 0 {
				t.Errorf("%d dangling references after %d rounds:\n%s", len(d), rounds, strings.Join(d, "\n"))
			}
		})
	}
}

// TestReferenceToObjectBeingDeleted creates a cluster whose account is being deleted (it waits
// for a finalizer): the account exists, so validation passes, but the store refuses, and the
// answer is the 422 of a missing reference, at the field that names it.
func TestReferenceToObjectBeingDeleted(t *testing.T) {
	ts := newTestServer(t)
	acct := account("leaving", "", testSecret)
	acct.Metadata.Finalizers = []string{"strata.dev/test"}
	if err := ts.store.Create(t.Context(), acct); err != nil {
		t.Fatal(err)
	}
	prof := profile("iaas", "1.0.0")
	ts.create(prof)
	if r := ts.do(http.MethodDelete, objPath(acct), nil, ""); r.code != http.StatusOK {
		t.Fatalf("delete the account: %d %s", r.code, r.body)
	}
	for _, method := range []string{http.MethodPost, http.MethodPut} {
		c := cluster("late", "leaving", prof)
		path := kindPath(v1alpha1.KindCluster)
		if method == http.MethodPut {
			path = objPath(c)
		}
		r := ts.do(method, path, encode(t, c), "application/json")
		st := r.status(t)
		if r.code != http.StatusUnprocessableEntity || st.Reason != ReasonInvalid || !hasError(st, "spec.cloudAccount", v1alpha1.RuleNotFound) {
			t.Fatalf("%s of a cluster whose account is being deleted: %d %s", method, r.code, r.body)
		}
		mustContain(t, "message", st.Errors[0].Message, `CloudAccount "leaving" is being deleted`)
		ts.get(v1alpha1.KindCluster, "late", http.StatusNotFound)
	}

	// Moving a cluster to a profile version being deleted is refused the same way.
	next := profile("iaas", "1.1.0")
	next.Metadata.Finalizers = []string{"strata.dev/test"}
	if err := ts.store.Create(t.Context(), next); err != nil {
		t.Fatal(err)
	}
	if r := ts.do(http.MethodDelete, objPath(next), nil, ""); r.code != http.StatusOK {
		t.Fatalf("delete the profile: %d %s", r.code, r.body)
	}
	ts.create(account("staying", "", testSecret))
	c := cluster("web", "staying", prof)
	ts.create(c)
	c.Spec.Profiles[0].Version = "1.1.0"
	r := ts.apply(c, "")
	if st := r.status(t); r.code != http.StatusUnprocessableEntity || !hasError(st, "spec.profiles[0]", v1alpha1.RuleNotFound) {
		t.Fatalf("move a cluster to a profile version being deleted: %d %s", r.code, r.body)
	}
}

func TestReferenceErrors(t *testing.T) {
	prof := profile("iaas", "1.0.0")
	c := cluster("web", "acct", profile("base", "1.0.0"), prof)
	a := account("acct", "pcg", testSecret)
	tests := []struct {
		name string
		obj  v1alpha1.Object
		err  store.ReferenceError
		want []string // field, rule, message
	}{
		{"cluster's account and second profile", c, store.ReferenceError{
			Missing:  []v1alpha1.Ref{{Kind: v1alpha1.KindCloudAccount, Key: "acct"}},
			Deleting: []v1alpha1.Ref{{Kind: v1alpha1.KindClusterProfile, Key: "iaas@1.0.0"}},
		}, []string{
			`spec.cloudAccount: not-found: CloudAccount "acct" does not exist`,
			`spec.profiles[1]: not-found: ClusterProfile "iaas@1.0.0" is being deleted`,
		}},
		{"account's gateway", a, store.ReferenceError{
			Missing: []v1alpha1.Ref{{Kind: v1alpha1.KindPrivateCloudGateway, Key: "pcg"}},
		}, []string{`spec.gateway: not-found: PrivateCloudGateway "pcg" does not exist`}},
		{"binding's user, role and filter", &v1alpha1.RoleBinding{}, store.ReferenceError{
			Missing:  []v1alpha1.Ref{{Kind: v1alpha1.KindRole, Key: "operator"}, {Kind: v1alpha1.KindUser, Key: "alice"}},
			Deleting: []v1alpha1.Ref{{Kind: v1alpha1.KindTagFilter, Key: "finance"}},
		}, []string{
			`spec.role: not-found: Role "operator" does not exist`,
			`spec.subject.user: not-found: User "alice" does not exist`,
			`spec.filter: not-found: TagFilter "finance" is being deleted`,
		}},
		{"binding's team", &v1alpha1.RoleBinding{}, store.ReferenceError{
			Missing: []v1alpha1.Ref{{Kind: v1alpha1.KindTeam, Key: "platform"}},
		}, []string{`spec.subject.team: not-found: Team "platform" does not exist`}},
		{"API key's user", &v1alpha1.APIKey{}, store.ReferenceError{
			Deleting: []v1alpha1.Ref{{Kind: v1alpha1.KindUser, Key: "alice"}},
		}, []string{`spec.user: not-found: User "alice" is being deleted`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, e := range referenceErrors(tc.obj, &tc.err) {
				got = append(got, fmt.Sprintf("%s: %s: %s", e.Field, e.Rule, e.Message))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("referenceErrors =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}
