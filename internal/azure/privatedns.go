package azure

import (
	"context"
	"fmt"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/privatedns/armprivatedns"

	"github.com/strata-dev/strata/internal/plan"
)

// privateDNS returns the private DNS client factory of the subscription, on the clients'
// credential, transport, retries and rate limiter.
func (c *Clients) privateDNS() (*armprivatedns.ClientFactory, error) {
	f, err := armprivatedns.NewClientFactory(c.sub, c.cred, c.armOpts)
	if err != nil {
		return nil, fmt.Errorf("azure: private DNS clients: %w", err)
	}
	return f, nil
}

// privateDNSZoneService makes KindPrivateDNSZone nodes real: a zone in the location global,
// owned by its tags; tag drift is repaired with the PUT. Azure refuses to delete a zone that
// still has virtual network links, so its links are deleted first (they come after it in the
// graph).
func (c *Clients) privateDNSZoneService() service {
	f, err := c.privateDNS()
	if err != nil {
		return failedService{err}
	}
	cl := f.NewPrivateZonesClient()
	return &armService[armprivatedns.PrivateZone, armprivatedns.PrivateZone]{
		c: c,
		get: func(ctx context.Context, id *arm.ResourceID) (*armprivatedns.PrivateZone, error) {
			r, err := getOrNil(cl.Get(ctx, id.ResourceGroupName, id.Name, nil))
			if r == nil {
				return nil, err
			}
			return &r.PrivateZone, nil
		},
		put: func(ctx context.Context, id *arm.ResourceID, body *armprivatedns.PrivateZone, resume string) (lro, error) {
			return asLRO(cl.BeginCreateOrUpdate(ctx, id.ResourceGroupName, id.Name, *body,
				&armprivatedns.PrivateZonesClientBeginCreateOrUpdateOptions{ResumeToken: resume}))
		},
		del: func(ctx context.Context, id *arm.ResourceID, resume string) (lro, error) {
			return asLRO(cl.BeginDelete(ctx, id.ResourceGroupName, id.Name,
				&armprivatedns.PrivateZonesClientBeginDeleteOptions{ResumeToken: resume}))
		},
	}
}

// privateDNSLinkService makes KindPrivateDNSLink nodes real: a zone's link to a virtual
// network (…/privateDnsZones/{z}/virtualNetworkLinks/{l}), owned by its own tags; the linked
// network and auto-registration are compared.
func (c *Clients) privateDNSLinkService() service {
	f, err := c.privateDNS()
	if err != nil {
		return failedService{err}
	}
	cl := f.NewVirtualNetworkLinksClient()
	return &armService[armprivatedns.VirtualNetworkLink, armprivatedns.VirtualNetworkLink]{
		c: c,
		get: func(ctx context.Context, id *arm.ResourceID) (*armprivatedns.VirtualNetworkLink, error) {
			r, err := getOrNil(cl.Get(ctx, id.ResourceGroupName, id.Parent.Name, id.Name, nil))
			if r == nil {
				return nil, err
			}
			return &r.VirtualNetworkLink, nil
		},
		put: func(ctx context.Context, id *arm.ResourceID, body *armprivatedns.VirtualNetworkLink, resume string) (lro, error) {
			return asLRO(cl.BeginCreateOrUpdate(ctx, id.ResourceGroupName, id.Parent.Name, id.Name, *body,
				&armprivatedns.VirtualNetworkLinksClientBeginCreateOrUpdateOptions{ResumeToken: resume}))
		},
		del: func(ctx context.Context, id *arm.ResourceID, resume string) (lro, error) {
			return asLRO(cl.BeginDelete(ctx, id.ResourceGroupName, id.Parent.Name, id.Name,
				&armprivatedns.VirtualNetworkLinksClientBeginDeleteOptions{ResumeToken: resume}))
		},
	}
}

// privateDNSRecordService makes KindPrivateDNSRecord nodes real: an A record set
// (…/privateDnsZones/{z}/A/{name}), written and deleted synchronously. Record sets have no
// tags: a record of the cluster's zone is the cluster's. The TTL and addresses are compared.
func (c *Clients) privateDNSRecordService() service {
	f, err := c.privateDNS()
	if err != nil {
		return failedService{err}
	}
	cl := f.NewRecordSetsClient()
	return &armService[armprivatedns.RecordSet, armprivatedns.RecordSet]{
		c:      c,
		parent: func(id *arm.ResourceID, _ *armprivatedns.RecordSet) string { return parentID(id) },
		get: func(ctx context.Context, id *arm.ResourceID) (*armprivatedns.RecordSet, error) {
			if err := checkARecordID(id); err != nil {
				return nil, err
			}
			r, err := getOrNil(cl.Get(ctx, id.ResourceGroupName, id.Parent.Name, armprivatedns.RecordTypeA, id.Name, nil))
			if r == nil {
				return nil, err
			}
			return &r.RecordSet, nil
		},
		put: func(ctx context.Context, id *arm.ResourceID, body *armprivatedns.RecordSet, resume string) (lro, error) {
			if resume != "" {
				return nil, errNoResume
			}
			if err := checkARecordID(id); err != nil {
				return nil, err
			}
			_, err := cl.CreateOrUpdate(ctx, id.ResourceGroupName, id.Parent.Name, armprivatedns.RecordTypeA, id.Name, *body, nil)
			return doneLRO{}, err
		},
		del: func(ctx context.Context, id *arm.ResourceID, resume string) (lro, error) {
			if resume != "" {
				return nil, errNoResume
			}
			if err := checkARecordID(id); err != nil {
				return nil, err
			}
			_, err := cl.Delete(ctx, id.ResourceGroupName, id.Parent.Name, armprivatedns.RecordTypeA, id.Name, nil)
			return doneLRO{}, err
		},
	}
}

// checkARecordID refuses an ID that is not an A record set of a private DNS zone: the only
// record type strata writes.
func checkARecordID(id *arm.ResourceID) error {
	if id.Parent == nil || !strings.EqualFold(id.ResourceType.String(), "Microsoft.Network/privateDnsZones/A") {
		return fmt.Errorf("%s is not an A record set of a private DNS zone", id)
	}
	return nil
}

// failedService is the service of a kind whose clients could not be made: every call
// returns the error.
type failedService struct{ err error }

func (s failedService) apply(context.Context, *plan.Node, Inventory) (Result, error) {
	return Result{}, s.err
}

func (s failedService) delete(context.Context, *plan.Node, Inventory) error { return s.err }

func (s failedService) observe(context.Context, *plan.Node) (Observation, error) {
	return Observation{}, s.err
}
