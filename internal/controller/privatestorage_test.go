package controller_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v11"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage/v4"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/azure"
	"github.com/strata-dev/strata/internal/controller"
	"github.com/strata-dev/strata/internal/emulator"
)

// gatewaySource is the address the gateway's Azure requests leave from in this test; the
// emulator places it in the cluster's VNet.
const gatewaySource = "127.0.5.1"

// TestPrivateStorageThroughTheGateway: a cluster behind a gateway uses the user's storage
// account with public network access disabled and a private endpoint in the gateway's VNet.
// The gateway's controller, whose requests leave from an address in that VNet, copies the VHD
// into it and the cluster runs; a blob request from anywhere else (the server's side) is
// refused with Azure's 403 AuthorizationFailure.
func TestPrivateStorageThroughTheGateway(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	cl := h.cluster(t, "cluster-iaas-static.yaml")
	cl.Metadata.Name = "private-storage"
	cl.Spec.Azure.Storage.Account = fmt.Sprintf("corppriv%d", time.Now().UnixNano()%1_000_000_000)
	h.userResources(t, cl)
	vnetID := privateStorage(t, h, cl)
	if err := h.env.Emulator.AddNetworks(emulator.NetworkBinding{Source: gatewaySource + "/32", Network: vnetID}); err != nil {
		t.Fatal(err)
	}
	bindToGateway(t, h, "corp", nil)
	if err := h.st.Create(ctx, cl); err != nil {
		t.Fatal(err)
	}
	h.runController(t, "gateway", func(c *controller.Config) {
		c.Gateway = "corp"
		c.NewClients = func(ctx context.Context, acct *v1alpha1.CloudAccount, sub string) (controller.Clients, error) {
			return azure.NewClients(ctx, acct, sub, azure.Options{PollFrequency: 20 * time.Millisecond, SourceAddress: net.ParseIP(gatewaySource)})
		}
	})
	h.waitRunning(t, cl.Key())

	outside := h.env.HTTPClientFrom(netip.MustParseAddr("127.0.0.1"), "strata-server")
	u := fmt.Sprintf("%s/%s/%s?restype=container&comp=list", h.env.Emulator.URL(), cl.Spec.Azure.Storage.Account, cl.Spec.Azure.Storage.Container)
	resp, err := outside.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("x-ms-error-code") != "AuthorizationFailure" {
		t.Errorf("from outside the VNet: %d %q, want 403 AuthorizationFailure", resp.StatusCode, resp.Header.Get("x-ms-error-code"))
	}
}

// privateStorage disables the public access of the cluster's storage account and gives it a
// private endpoint in the control-plane subnet; it returns the VNet's ID.
func privateStorage(t *testing.T, h *harness, cl *v1alpha1.Cluster) string {
	t.Helper()
	ctx := context.Background()
	pl, account := cl.Spec.Azure.Placement, cl.Spec.Azure.Storage.Account
	sf, err := armstorage.NewClientFactory(h.env.SubscriptionID, h.env.Cred, h.env.ClientOptions)
	if err != nil {
		t.Fatal(err)
	}
	acct, err := sf.NewAccountsClient().Update(ctx, cl.Spec.Azure.ResourceGroup, account, armstorage.AccountUpdateParameters{
		Properties: &armstorage.AccountPropertiesUpdateParameters{PublicNetworkAccess: to.Ptr(armstorage.PublicNetworkAccessDisabled)}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	nf, err := armnetwork.NewClientFactory(h.env.SubscriptionID, h.env.Cred, h.env.ClientOptions)
	if err != nil {
		t.Fatal(err)
	}
	subnet, err := nf.NewSubnetsClient().Get(ctx, pl.ResourceGroup, pl.VirtualNetwork, pl.ControlPlaneSubnet.Name, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := nf.NewPrivateEndpointsClient().BeginCreateOrUpdate(ctx, pl.ResourceGroup, account+"-blob", armnetwork.PrivateEndpoint{
		Location: to.Ptr(h.env.Location),
		Properties: &armnetwork.PrivateEndpointProperties{
			Subnet: &armnetwork.Subnet{ID: subnet.ID},
			PrivateLinkServiceConnections: []*armnetwork.PrivateLinkServiceConnection{{Name: to.Ptr("blob"),
				Properties: &armnetwork.PrivateLinkServiceConnectionProperties{PrivateLinkServiceID: acct.ID, GroupIDs: []*string{to.Ptr("blob")}}}},
		}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.PollUntilDone(ctx, &runtime.PollUntilDoneOptions{Frequency: 20 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	vnet, err := nf.NewVirtualNetworksClient().Get(ctx, pl.ResourceGroup, pl.VirtualNetwork, nil)
	if err != nil {
		t.Fatal(err)
	}
	return *vnet.ID
}

// bindToGateway stores a gateway with the proxy (or none) and binds the emulator's account
// to it.
func bindToGateway(t *testing.T, h *harness, name string, proxy *v1alpha1.ProxySettings) {
	t.Helper()
	ctx := context.Background()
	gw := &v1alpha1.PrivateCloudGateway{TypeMeta: v1alpha1.TypeMeta{APIVersion: v1alpha1.GroupVersion, Kind: v1alpha1.KindPrivateCloudGateway},
		Metadata: v1alpha1.ObjectMeta{Name: name}, Spec: v1alpha1.PrivateCloudGatewaySpec{Proxy: proxy}}
	if err := h.st.Create(ctx, gw); err != nil {
		t.Fatal(err)
	}
	obj, err := h.st.Get(ctx, v1alpha1.KindCloudAccount, "emulator")
	if err != nil {
		t.Fatal(err)
	}
	acct := obj.(*v1alpha1.CloudAccount)
	acct.Spec.Gateway = name
	if err := h.st.Update(ctx, acct); err != nil {
		t.Fatal(err)
	}
}
