package emulator

import (
	"fmt"
	"time"

	"github.com/strata-dev/strata/internal/emulator/blob"
	"github.com/strata-dev/strata/internal/emulator/providers/compute"
	"github.com/strata-dev/strata/internal/emulator/providers/containerservice"
	"github.com/strata-dev/strata/internal/emulator/providers/network"
	"github.com/strata-dev/strata/internal/emulator/providers/resourcegraph"
	"github.com/strata-dev/strata/internal/emulator/providers/resources"
	"github.com/strata-dev/strata/internal/emulator/providers/storage"
)

// gib is the size by which the latency of a blob copy grows.
const gib = 1 << 30

// wireProviders starts the blob service and registers the resource types and routes of every
// provider.
func (em *Emulator) wireProviders() error {
	lat := em.engine.Latency()
	svc, err := blob.New(blob.Options{
		StateDir: em.opts.StateDir,
		Tokens:   em.signer,
		Logger:   em.log.With("component", "blob"),
		// The storage accounts' firewall: network rules and private endpoints of ARM.
		NetworkAllowed: em.blobNetworkAllowed,
		CopyDuration: func(size int64) time.Duration {
			return lat.Duration("blob.copy", 0.5) * time.Duration(max(1, size/gib))
		},
	})
	if err != nil {
		return fmt.Errorf("starting the blob service: %w", err)
	}
	em.blobs = svc
	// The blob service is the storage provider's data plane: ARM creates and deletes its
	// accounts and containers.
	var accounts storage.BlobAccounts = svc
	e := em.engine
	e.Register(resources.Types()...)
	e.AddRoutes(resources.Routes(e)...)
	e.Register(network.Types()...)
	e.AddRoutes(network.Routes()...)
	e.Register(compute.Types()...)
	e.AddRoutes(compute.Routes()...)
	e.Register(containerservice.Types(containerservice.Options{ServeKubernetes: em.opts.kubernetesOn()})...)
	e.AddRoutes(containerservice.Routes()...)
	e.Register(storage.Types(accounts)...)
	e.AddRoutes(storage.Routes(accounts)...)
	// Resource Graph answers from the state as it was its lag ago: the engine keeps that much
	// history.
	e.KeepHistory(em.opts.ResourceGraph.EffectiveLag())
	e.AddRoutes(resourcegraph.Routes(e, em.opts.ResourceGraph)...)
	return nil
}

// resetBlob empties the blob service.
func (em *Emulator) resetBlob() error { return em.blobs.Reset() }
