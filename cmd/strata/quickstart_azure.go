package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azarm "github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v11"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v4"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage/v4"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/emulator"
)

// emulatorClients are SDK clients of the emulator, trusting its CA.
type emulatorClients struct {
	groups  *armresources.ResourceGroupsClient
	network *armnetwork.ClientFactory
	storage *armstorage.ClientFactory
}

// newEmulatorClients signs in to the emulator as its first service principal.
func newEmulatorClients(em *emulator.Emulator, sub string) (*emulatorClients, error) {
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: em.CAPool(), MinVersion: tls.VersionTLS12}}, Timeout: time.Minute}
	cfg := cloud.Configuration{
		ActiveDirectoryAuthorityHost: em.URL() + "/",
		Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
			cloud.ResourceManager: {Endpoint: em.URL(), Audience: "https://management.core.windows.net/"},
		},
	}
	sp := em.Principals()[0]
	cred, err := azidentity.NewClientSecretCredential(sp.TenantID, sp.ClientID, sp.Secret, &azidentity.ClientSecretCredentialOptions{
		ClientOptions: azcore.ClientOptions{Cloud: cfg, Transport: hc}, DisableInstanceDiscovery: true,
	})
	if err != nil {
		return nil, fmt.Errorf("emulator credential: %w", err)
	}
	opts := &azarm.ClientOptions{ClientOptions: azcore.ClientOptions{Cloud: cfg, Transport: hc}}
	c := &emulatorClients{}
	if c.groups, err = armresources.NewResourceGroupsClient(sub, cred, opts); err != nil {
		return nil, fmt.Errorf("resource groups client: %w", err)
	}
	if c.network, err = armnetwork.NewClientFactory(sub, cred, opts); err != nil {
		return nil, fmt.Errorf("network clients: %w", err)
	}
	if c.storage, err = armstorage.NewClientFactory(sub, cred, opts); err != nil {
		return nil, fmt.Errorf("storage clients: %w", err)
	}
	return c, nil
}

// pollEvery is how often quickstart polls the emulator's long-running operations.
var pollEvery = &runtime.PollUntilDoneOptions{Frequency: time.Second}

// ensure creates what get does not find, and reports whether it did. Only a 404 from get
// means "missing": what exists is left as it is, as the user may have changed it.
func ensure(ctx context.Context, what string, get, create func(context.Context) error) (bool, error) {
	err := get(ctx)
	var re *azcore.ResponseError
	switch {
	case err == nil:
		return false, nil
	case !errors.As(err, &re) || re.StatusCode != http.StatusNotFound:
		return false, fmt.Errorf("get %s: %w", what, err)
	}
	if err := create(ctx); err != nil {
		return false, fmt.Errorf("create %s: %w", what, err)
	}
	return true, nil
}

// prerequisites makes in the emulator what a cluster expects to exist and does not yet: its
// resource group and, for static placement, the user's network (VNet, subnets, NSGs) and
// storage account and container, as a user would have made them.
func (c *emulatorClients) prerequisites(ctx context.Context, cl *v1alpha1.Cluster, out io.Writer) error {
	az := &cl.Spec.Azure
	groups := []string{az.ResourceGroup}
	if az.Placement != nil {
		groups = append(groups, az.Placement.ResourceGroup)
	}
	for _, g := range groups {
		if _, err := c.resourceGroup(ctx, g, az.Location); err != nil {
			return err
		}
	}
	if pl := az.Placement; pl != nil {
		made, err := c.userNetwork(ctx, pl, az.Location)
		if err != nil {
			return err
		}
		if made {
			fmt.Fprintf(out, "made the user's network %s/%s for cluster %s in the emulator\n", pl.ResourceGroup, pl.VirtualNetwork, cl.Key())
		}
	}
	if cs := az.Storage; cs != nil {
		made, err := c.userStorage(ctx, az.ResourceGroup, cs, az.Location)
		if err != nil {
			return err
		}
		if made {
			fmt.Fprintf(out, "made the user's storage account %s for cluster %s in the emulator\n", cs.Account, cl.Key())
		}
	}
	return nil
}

// resourceGroup makes a resource group that does not exist.
func (c *emulatorClients) resourceGroup(ctx context.Context, name, location string) (bool, error) {
	return ensure(ctx, "resource group "+name, func(ctx context.Context) error {
		_, err := c.groups.Get(ctx, name, nil)
		return err
	}, func(ctx context.Context) error {
		_, err := c.groups.CreateOrUpdate(ctx, name, armresources.ResourceGroup{Location: to.Ptr(location)}, nil)
		return err
	})
}

// userNetwork makes what is missing of the user's network of a static placement: its NSGs,
// its VNet, then its subnets, each created alone so that an existing VNet is never sent again
// (a VNet sent without its subnets would delete them, or be refused while they are in use).
func (c *emulatorClients) userNetwork(ctx context.Context, pl *v1alpha1.StaticPlacement, location string) (bool, error) {
	nsgIDs, madeNSG, err := c.userNSGs(ctx, pl, location)
	if err != nil {
		return false, err
	}
	vnets := c.network.NewVirtualNetworksClient()
	madeVNet, err := ensure(ctx, "VNet "+pl.VirtualNetwork, func(ctx context.Context) error {
		_, err := vnets.Get(ctx, pl.ResourceGroup, pl.VirtualNetwork, nil)
		return err
	}, func(ctx context.Context) error {
		p, err := vnets.BeginCreateOrUpdate(ctx, pl.ResourceGroup, pl.VirtualNetwork, armnetwork.VirtualNetwork{
			Location:   to.Ptr(location),
			Properties: &armnetwork.VirtualNetworkPropertiesFormat{AddressSpace: &armnetwork.AddressSpace{AddressPrefixes: []*string{to.Ptr(pl.CIDR)}}},
		}, nil)
		_, err = poll(ctx, p, err)
		return err
	})
	if err != nil {
		return false, err
	}
	subnets := c.network.NewSubnetsClient()
	madeSubnet := false
	for _, s := range []*v1alpha1.Subnet{pl.ControlPlaneSubnet, pl.WorkerSubnet} {
		made, err := ensure(ctx, "subnet "+s.Name, func(ctx context.Context) error {
			_, err := subnets.Get(ctx, pl.ResourceGroup, pl.VirtualNetwork, s.Name, nil)
			return err
		}, func(ctx context.Context) error {
			p, err := subnets.BeginCreateOrUpdate(ctx, pl.ResourceGroup, pl.VirtualNetwork, s.Name, armnetwork.Subnet{
				Properties: &armnetwork.SubnetPropertiesFormat{AddressPrefix: to.Ptr(s.CIDR), NetworkSecurityGroup: &armnetwork.SecurityGroup{ID: to.Ptr(nsgIDs[s.SecurityGroup])}},
			}, nil)
			_, err = poll(ctx, p, err)
			return err
		})
		if err != nil {
			return false, err
		}
		madeSubnet = madeSubnet || made
	}
	return madeNSG || madeVNet || madeSubnet, nil
}

// userNSGs makes the placement's NSGs that are missing and returns the IDs of all of them.
func (c *emulatorClients) userNSGs(ctx context.Context, pl *v1alpha1.StaticPlacement, location string) (map[string]string, bool, error) {
	nsgs := c.network.NewSecurityGroupsClient()
	ids := map[string]string{}
	madeAny := false
	for _, name := range []string{pl.ControlPlaneSubnet.SecurityGroup, pl.WorkerSubnet.SecurityGroup} {
		made, err := ensure(ctx, "NSG "+name, func(ctx context.Context) error {
			r, err := nsgs.Get(ctx, pl.ResourceGroup, name, nil)
			if err == nil {
				ids[name] = *r.ID
			}
			return err
		}, func(ctx context.Context) error {
			p, err := nsgs.BeginCreateOrUpdate(ctx, pl.ResourceGroup, name, armnetwork.SecurityGroup{Location: to.Ptr(location)}, nil)
			r, err := poll(ctx, p, err)
			if err == nil {
				ids[name] = *r.ID
			}
			return err
		})
		if err != nil {
			return nil, false, err
		}
		madeAny = madeAny || made
	}
	return ids, madeAny, nil
}

// userStorage makes the user's storage account and container when missing.
func (c *emulatorClients) userStorage(ctx context.Context, group string, cs *v1alpha1.CustomStorage, location string) (bool, error) {
	accounts, containers := c.storage.NewAccountsClient(), c.storage.NewBlobContainersClient()
	made, err := ensure(ctx, "storage account "+cs.Account, func(ctx context.Context) error {
		_, err := accounts.GetProperties(ctx, group, cs.Account, nil)
		return err
	}, func(ctx context.Context) error {
		p, err := accounts.BeginCreate(ctx, group, cs.Account, armstorage.AccountCreateParameters{
			Location: to.Ptr(location), Kind: to.Ptr(armstorage.KindStorageV2), SKU: &armstorage.SKU{Name: to.Ptr(armstorage.SKUNameStandardLRS)},
		}, nil)
		_, err = poll(ctx, p, err)
		return err
	})
	if err != nil || cs.Container == "" {
		return made, err
	}
	madeContainer, err := ensure(ctx, "container "+cs.Container, func(ctx context.Context) error {
		_, err := containers.Get(ctx, group, cs.Account, cs.Container, nil)
		return err
	}, func(ctx context.Context) error {
		_, err := containers.Create(ctx, group, cs.Account, cs.Container, armstorage.BlobContainer{}, nil)
		return err
	})
	return made || madeContainer, err
}

// poll waits for a long-running operation, unless it could not begin.
func poll[T any](ctx context.Context, p *runtime.Poller[T], err error) (T, error) {
	if err != nil {
		var zero T
		return zero, err
	}
	return p.PollUntilDone(ctx, pollEvery)
}
