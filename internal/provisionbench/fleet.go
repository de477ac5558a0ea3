package provisionbench

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v4"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/azure"
	"github.com/strata-dev/strata/internal/client"
	"github.com/strata-dev/strata/internal/emulator"
)

// FleetOptions describe the clusters of a benchmark.
type FleetOptions struct {
	// Type is the clusters' type (v1alpha1.ClusterTypeIaaS or ClusterTypeAKS).
	Type string
	// Clusters is how many there are.
	Clusters int
	// LatencyScale is the run's: the resource groups are made at strata's rate limits divided
	// by it.
	LatencyScale float64
	// Logger receives the Azure clients' logs.
	Logger *slog.Logger
}

// Fleet is the clusters of a benchmark, ready to be created: the emulator's cloud account and
// the example profile of their type applied, and a resource group per cluster in the
// emulator's first subscription.
type Fleet struct {
	// Names are the clusters' names, bench-000, bench-001...
	Names []string
	// Account is the emulator's cloud account, Profile the example profile.
	Account *v1alpha1.CloudAccount
	Profile *v1alpha1.ClusterProfile
	// Azure are clients of the emulator's first subscription.
	Azure        *azure.Clients
	template     *v1alpha1.Cluster
	subscription string
}

// groupWriters is how many resource groups PrepareFleet makes at once.
const groupWriters = 16

// PrepareFleet applies the emulator's cloud account and the example profile of the clusters'
// type through api, and makes each cluster's resource group in the emulator.
func PrepareFleet(ctx context.Context, em *emulator.Emulator, api *client.Client, o FleetOptions) (*Fleet, error) {
	files, ok := examples[o.Type]
	if !ok {
		return nil, fmt.Errorf("cluster type %q: must be %s or %s", o.Type, v1alpha1.ClusterTypeIaaS, v1alpha1.ClusterTypeAKS)
	}
	f := &Fleet{subscription: em.Subscriptions()[0]}
	var err error
	if f.Account, err = ApplyCloudAccount(ctx, em, api); err != nil {
		return nil, err
	}
	if f.Profile, err = ExampleObject[*v1alpha1.ClusterProfile](files.profile); err != nil {
		return nil, err
	}
	if _, _, err := api.Apply(ctx, f.Profile, client.WriteOptions{}); err != nil {
		return nil, fmt.Errorf("apply the profile: %w", err)
	}
	if f.template, err = ExampleObject[*v1alpha1.Cluster](files.cluster); err != nil {
		return nil, err
	}
	opts := azure.Options{Logger: o.Logger, Writes: 8 / o.LatencyScale, Reads: 20 / o.LatencyScale}
	if f.Azure, err = azure.NewClients(ctx, f.Account, f.subscription, opts); err != nil {
		return nil, fmt.Errorf("clients of the emulator: %w", err)
	}
	for i := range o.Clusters {
		f.Names = append(f.Names, fmt.Sprintf("bench-%03d", i))
	}
	return f, f.makeGroups(ctx)
}

// makeGroups makes the clusters' resource groups, groupWriters at once.
func (f *Fleet) makeGroups(ctx context.Context) error {
	groups, err := armresources.NewResourceGroupsClient(f.subscription, f.Azure.Credential(), f.Azure.ARMClientOptions())
	if err != nil {
		return fmt.Errorf("resource groups client: %w", err)
	}
	errs := make(chan error, len(f.Names))
	sem := make(chan struct{}, groupWriters)
	var wg sync.WaitGroup
	for _, name := range f.Names {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if _, err := groups.CreateOrUpdate(ctx, name+"-rg", armresources.ResourceGroup{Location: to.Ptr("westeurope")}, nil); err != nil {
				errs <- fmt.Errorf("create resource group %s-rg: %w", name, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs // the first error, or nil
}

// Cluster returns the i-th cluster: the example, named and placed for the emulator.
func (f *Fleet) Cluster(i int) *v1alpha1.Cluster {
	c := *f.template
	c.Metadata.Name = f.Names[i]
	c.Spec.CloudAccount = AccountName
	c.Spec.Azure.SubscriptionID = f.subscription
	c.Spec.Azure.Location = "westeurope"
	c.Spec.Azure.ResourceGroup = f.Names[i] + "-rg"
	return &c
}

// WorkDir returns dir, or a new temporary directory named after prefix when dir is empty;
// remove deletes the temporary directory (and nothing when dir was given).
func WorkDir(dir, prefix string) (workDir string, remove func(), err error) {
	if dir != "" {
		return dir, func() {}, nil
	}
	d, err := os.MkdirTemp("", prefix)
	if err != nil {
		return "", nil, fmt.Errorf("create a temporary directory: %w", err)
	}
	return d, func() { _ = os.RemoveAll(d) }, nil
}
