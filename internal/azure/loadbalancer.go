package azure

import (
	"context"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v11"
)

// loadBalancerService makes KindLoadBalancer nodes real (frontends, pools, probes and rules by
// name). An internal load balancer's frontend address (its static private IP) is observed
// (Observation.Address).
func (c *Clients) loadBalancerService() service {
	cl := c.Network.NewLoadBalancersClient()
	return &armService[armnetwork.LoadBalancer, armnetwork.LoadBalancer]{
		c: c,
		get: func(ctx context.Context, id *arm.ResourceID) (*armnetwork.LoadBalancer, error) {
			r, err := getOrNil(cl.Get(ctx, id.ResourceGroupName, id.Name, nil))
			if r == nil {
				return nil, err
			}
			return &r.LoadBalancer, nil
		},
		put: func(ctx context.Context, id *arm.ResourceID, body *armnetwork.LoadBalancer, resume string) (lro, error) {
			return asLRO(cl.BeginCreateOrUpdate(ctx, id.ResourceGroupName, id.Name, *body,
				&armnetwork.LoadBalancersClientBeginCreateOrUpdateOptions{ResumeToken: resume}))
		},
		del: func(ctx context.Context, id *arm.ResourceID, resume string) (lro, error) {
			return asLRO(cl.BeginDelete(ctx, id.ResourceGroupName, id.Name,
				&armnetwork.LoadBalancersClientBeginDeleteOptions{ResumeToken: resume}))
		},
		describe: describeLoadBalancer,
	}
}

// describeLoadBalancer observes the private IP address of the first frontend that has one:
// an internal load balancer's address (a public one's frontends have none).
func describeLoadBalancer(live *armnetwork.LoadBalancer, o *Observation) {
	if live.Properties == nil {
		return
	}
	for _, fe := range live.Properties.FrontendIPConfigurations {
		if fe != nil && fe.Properties != nil && fe.Properties.PrivateIPAddress != nil && *fe.Properties.PrivateIPAddress != "" {
			o.Address = *fe.Properties.PrivateIPAddress
			return
		}
	}
}
