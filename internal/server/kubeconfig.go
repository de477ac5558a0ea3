package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/authz"
	"github.com/strata-dev/strata/internal/azurecall"
	"github.com/strata-dev/strata/internal/kubecert"
	"github.com/strata-dev/strata/internal/plan"
	"github.com/strata-dev/strata/internal/store"
)

// Reasons of the kubeconfig endpoint's refusals.
const (
	// ReasonForbidden (403): an admin kubeconfig from a server without access control.
	ReasonForbidden = "Forbidden"
	// ReasonNotReady (409): the cluster has no control plane in Azure yet (no managed
	// cluster; no control-plane VM, or its API server's address not read yet).
	ReasonNotReady = "NotReady"
	// ReasonLocalAccountsDisabled (409): an admin kubeconfig of an AKS cluster whose local
	// accounts are disabled.
	ReasonLocalAccountsDisabled = "LocalAccountsDisabled"
)

// KubeconfigContentType is the media type of a kubeconfig response.
const KubeconfigContentType = "application/yaml"

// managedClusterChain is the resource-type chain of an AKS cluster's ARM ID.
var managedClusterChain = []arm.ResourceType{
	arm.TenantResourceType, arm.SubscriptionResourceType, arm.ResourceGroupResourceType,
	arm.NewResourceType("Microsoft.ContainerService", "managedClusters"),
}

// kubeconfig answers GET /clusters/{key}/kubeconfig[?admin=true]. For an AKS cluster it is
// the kubeconfig Azure lists, fetched with the cluster's cloud account; for an IaaS cluster
// strata mints one from the cluster CA it holds (iaasKubeconfig). The user kubeconfig is the
// default; the admin one needs the permission cluster.kubeconfig-admin on the cluster, so a
// server without access control never serves it. The kubeconfig is a secret: it is sent and forgotten, never
// logged, stored or put in an event.
func (s *Server) kubeconfig(w http.ResponseWriter, r *http.Request, kind string) error {
	ctx := r.Context()
	key := r.PathValue("key")
	if kind != v1alpha1.KindCluster {
		return &apiError{code: http.StatusNotFound, reason: ReasonNotFound,
			message: fmt.Sprintf("no kubeconfig for %s: kubeconfigs are under %s/%s/{name}/kubeconfig", v1alpha1.Plural(kind), APIPath, v1alpha1.Plural(v1alpha1.KindCluster))}
	}
	admin, err := adminParam(r)
	if err != nil {
		return err
	}
	if admin {
		noteVerb(ctx, authz.VerbKubeconfigAdmin)
	}
	if admin && !s.access { // with access control, cluster.kubeconfig-admin decides
		return &apiError{code: http.StatusForbidden, reason: ReasonForbidden,
			message: "admin kubeconfigs are off on this server: it runs without access control (--access-control=false), and an admin kubeconfig goes only to a caller whose role grants cluster.kubeconfig-admin on the cluster; ask for the user kubeconfig instead (without admin=true)"}
	}

	obj, err := s.store.Get(ctx, kind, key)
	if errors.Is(err, store.ErrNotFound) {
		return notFound(kind, key)
	}
	if err != nil {
		return internal(err, "get %s %q", kind, key)
	}
	verb := authz.VerbKubeconfig
	if admin {
		verb = authz.VerbKubeconfigAdmin
	}
	if err := guardOf(ctx).allow(verb, obj); err != nil {
		return err
	}
	c := obj.(*v1alpha1.Cluster)
	var kc []byte
	if c.Spec.Azure.Type == v1alpha1.ClusterTypeAKS {
		var sent bool
		if kc, sent, err = s.aksKubeconfig(w, r, c, admin); sent || err != nil {
			return err
		}
	} else if kc, err = s.iaasKubeconfig(ctx, c, admin); err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", KubeconfigContentType)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Length", strconv.Itoa(len(kc)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(kc)
	return nil
}

// aksKubeconfig returns the kubeconfig Azure lists for an AKS cluster. sent says the answer
// was written already (Azure's error).
func (s *Server) aksKubeconfig(w http.ResponseWriter, r *http.Request, c *v1alpha1.Cluster, admin bool) (kc []byte, sent bool, err error) {
	ctx, key := r.Context(), c.Metadata.Name
	if admin {
		res := &storeResolver{store: s.store}
		mcp, _ := v1alpha1.EffectiveManagedControlPlane(ctx, c, res)
		if res.err != nil {
			return nil, false, internal(res.err, "read the managed control plane of cluster %q", key)
		}
		if mcp != nil && mcp.AADProfile != nil && mcp.AADProfile.DisableLocalAccounts {
			return nil, false, localAccountsDisabled(key)
		}
	}
	id, err := managedClusterID(c)
	if err != nil {
		return nil, false, err
	}
	acct, err := s.clusterAccount(ctx, c)
	if err != nil {
		return nil, false, err
	}
	call := azurecall.Call{Account: acct.Metadata.Name, SubscriptionID: c.Spec.Azure.SubscriptionID, Op: azurecall.OpKubeconfig,
		Params: map[string]string{azurecall.ParamResourceGroup: id.ResourceGroupName, azurecall.ParamName: id.Name, azurecall.ParamAdmin: strconv.FormatBool(admin)}}
	kc, err = s.runCall(ctx, acct, call)
	if err == nil {
		return kc, false, nil
	}
	if code, _ := azurecall.Describe(err); code == azurecall.CodeLocalAccountsDisabled {
		return nil, false, localAccountsDisabled(key)
	}
	acctKey := c.Spec.CloudAccount
	return nil, true, s.callFailed(w, r, fmt.Sprintf("kubeconfig of cluster %q with cloud account %q", key, acctKey), err,
		slog.String("cluster", key), slog.String("cloudAccount", acctKey))
}

// clusterAccount returns the cluster's cloud account.
func (s *Server) clusterAccount(ctx context.Context, c *v1alpha1.Cluster) (*v1alpha1.CloudAccount, error) {
	key, acctKey := c.Metadata.Name, c.Spec.CloudAccount
	ao, err := s.store.Get(ctx, v1alpha1.KindCloudAccount, acctKey)
	if errors.Is(err, store.ErrNotFound) {
		return nil, conflict(ReasonConflict, "cluster %q uses %s %q, which does not exist", key, v1alpha1.KindCloudAccount, acctKey)
	}
	if err != nil {
		return nil, internal(err, "get %s %q", v1alpha1.KindCloudAccount, acctKey)
	}
	return ao.(*v1alpha1.CloudAccount), nil
}

// iaasKubeconfig mints the kubeconfig of an IaaS cluster from the cluster CA in the store: a
// client certificate valid for kubecert.KubeconfigValidity (12 h), as kubecert.Admin
// (system:masters) or kubecert.User (group strata:users, which has no rights until the
// cluster's admin binds it to a role), for the API server at the load balancer's address
// with the endpoint's DNS name as tls-server-name. Nothing is sent to Azure.
func (s *Server) iaasKubeconfig(ctx context.Context, c *v1alpha1.Cluster, admin bool) ([]byte, error) {
	key := c.Metadata.Name
	addr, err := iaasAPIServerAddress(c)
	if err != nil {
		return nil, err
	}
	b, err := s.store.GetSecret(ctx, plan.BootstrapSecretName(c.Metadata.UID))
	if errors.Is(err, store.ErrNotFound) {
		return nil, conflict(ReasonNotReady, "cluster %q has no cluster CA yet: try again once it is provisioned", key)
	}
	if err != nil {
		return nil, internal(err, "read the cluster CA of cluster %q", key)
	}
	secrets, err := plan.UnmarshalBootstrapSecrets(b)
	if err != nil {
		return nil, internal(err, "open the cluster CA of cluster %q", key)
	}
	ca, err := kubecert.ParseCA(secrets.CACertPEM, secrets.CAKeyPEM)
	if err != nil {
		return nil, internal(err, "open the cluster CA of cluster %q", key)
	}
	id := kubecert.User
	if admin {
		id = kubecert.Admin
	}
	cred, err := ca.Issue(id, time.Now(), kubecert.KubeconfigValidity)
	if err != nil {
		return nil, internal(err, "issue a client certificate for cluster %q", key)
	}
	kc, err := kubecert.Kubeconfig{
		Cluster: key, Server: "https://" + net.JoinHostPort(addr.String(), strconv.Itoa(plan.APIServerPort)),
		TLSServerName: plan.APIServerFQDN(c), CAPEM: ca.CertPEM(), User: id.User, Credential: cred,
	}.Bytes()
	if err != nil {
		return nil, internal(err, "write the kubeconfig of cluster %q", key)
	}
	return kc, nil
}

// iaasAPIServerAddress is the address of an IaaS cluster's API server, as the controller
// read it from the load balancer's public IP, once a control-plane VM exists (the one that
// runs kubeadm init, or after a rolling replacement one that joined).
func iaasAPIServerAddress(c *v1alpha1.Cluster) (netip.Addr, error) {
	key, phase := c.Metadata.Name, c.Status.Phase
	if phase == "" {
		phase = "Pending"
	}
	if !slices.ContainsFunc(c.Status.Inventory, func(it v1alpha1.InventoryItem) bool {
		return plan.IsControlPlaneVM(c, it.Key) && it.Kind == string(plan.KindVirtualMachine) && it.Ready
	}) {
		return netip.Addr{}, conflict(ReasonNotReady, "cluster %q has no control plane in Azure yet (phase %s): try again once it is provisioned", key, phase)
	}
	if c.Status.ControlPlaneAddress == "" {
		return netip.Addr{}, conflict(ReasonNotReady, "strata has not read the address of cluster %q's API server yet (phase %s): try again in a minute", key, phase)
	}
	addr, err := netip.ParseAddr(c.Status.ControlPlaneAddress)
	if err != nil {
		return netip.Addr{}, internal(err, "cluster %q: unusable API server address %q", key, c.Status.ControlPlaneAddress)
	}
	return addr, nil
}

// adminParam reads the kubeconfig's query: admin, at most once, true or false. Other
// parameters are refused.
func adminParam(r *http.Request) (bool, error) {
	q := r.URL.Query()
	for name := range q {
		if name != "admin" {
			return false, badRequest("unknown query parameter %q: the kubeconfig takes admin=true|false", name)
		}
	}
	if len(q["admin"]) > 1 {
		return false, badRequest("query parameter admin is given %d times", len(q["admin"]))
	}
	v := q.Get("admin")
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, badRequest("invalid admin %q: use true or false", v)
	}
	return b, nil
}

func localAccountsDisabled(key string) *apiError {
	return conflict(ReasonLocalAccountsDisabled, "cluster %q has local accounts disabled (aadProfile.disableLocalAccounts): there is no admin kubeconfig; use the user kubeconfig and sign in with Entra ID", key)
}

// managedClusterID returns the parsed ARM ID of the cluster's managed cluster: its inventory's
// ready ManagedCluster item.
func managedClusterID(c *v1alpha1.Cluster) (*arm.ResourceID, error) {
	key := c.Metadata.Name
	i := slices.IndexFunc(c.Status.Inventory, func(it v1alpha1.InventoryItem) bool {
		return it.Kind == string(plan.KindManagedCluster) && it.Ready
	})
	if i < 0 {
		phase := c.Status.Phase
		if phase == "" {
			phase = "Pending"
		}
		return nil, conflict(ReasonNotReady, "cluster %q has no managed cluster in Azure yet (phase %s): try again once it is provisioned", key, phase)
	}
	item := c.Status.Inventory[i]
	id, err := arm.ParseResourceID(item.ID)
	if err == nil {
		err = id.ValidateResourceTypeChain(managedClusterChain)
	}
	if err == nil && !strings.EqualFold(id.SubscriptionID, c.Spec.Azure.SubscriptionID) {
		err = fmt.Errorf("it is not in the cluster's subscription %s", c.Spec.Azure.SubscriptionID)
	}
	if err != nil {
		return nil, internal(err, "cluster %q: inventory item %q has an unusable managed cluster ID %q", key, item.Key, item.ID)
	}
	return id, nil
}
