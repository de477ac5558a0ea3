// Package agentserver is the server's half of the agent protocol (proto/strata/agent/v1): the
// CA that signs agents' client certificates, the single-use registration tokens, the gRPC
// services on the agent listener, and the hub that sends each connected agent its cluster's
// desired state and writes what the agent reports into the cluster's status.
package agentserver

import (
	"context"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/strata-dev/strata/internal/holder"
	"github.com/strata-dev/strata/internal/kubecert"
	"github.com/strata-dev/strata/internal/store"
)

// Store is what the agent server needs of the object store; every store.Store is one.
type Store interface {
	PutSecret(ctx context.Context, name string, plaintext []byte) error
	GetSecret(ctx context.Context, name string) ([]byte, error)
	DeleteSecret(ctx context.Context, name string) error
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)
	ReleaseLease(ctx context.Context, name, holder string) error
}

// caSecret names the sealed secret holding the agent CA.
const caSecret = "agent/ca"

// caValidity is how long the agent CA is valid.
const caValidity = 10 * 365 * 24 * time.Hour

// storedCA is the agent CA as kept (sealed) in the store.
type storedCA struct {
	CertPEM []byte `json:"cert"`
	KeyPEM  []byte `json:"key"`
}

// Authority is the CA of agent certificates. Its key never leaves the process but sealed in
// the store.
type Authority struct {
	ca *kubecert.CA
}

// LoadAuthority returns the store's agent CA, making it on first use. Servers sharing a store
// take a lease while they make it, so they all end with the same CA.
func LoadAuthority(ctx context.Context, st Store) (*Authority, error) {
	if a, err := readAuthority(ctx, st); err == nil || !errors.Is(err, store.ErrNotFound) {
		return a, err
	}
	me := holder.Fresh()
	deadline := time.Now().Add(time.Minute)
	for {
		ok, err := st.AcquireLease(ctx, "agent/ca", me, 30*time.Second)
		if err != nil {
			return nil, fmt.Errorf("agent CA: take its lease: %w", err)
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			return nil, errors.New("agent CA: another server holds its lease for more than a minute")
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	defer func() { _ = st.ReleaseLease(context.WithoutCancel(ctx), "agent/ca", me) }()
	if a, err := readAuthority(ctx, st); err == nil || !errors.Is(err, store.ErrNotFound) {
		return a, err
	}
	certPEM, keyPEM, err := kubecert.NewCA("strata agent CA", time.Now(), caValidity)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(storedCA{CertPEM: certPEM, KeyPEM: keyPEM})
	if err != nil {
		return nil, fmt.Errorf("agent CA: encode: %w", err)
	}
	if err := st.PutSecret(ctx, caSecret, b); err != nil {
		return nil, fmt.Errorf("agent CA: store: %w", err)
	}
	return readAuthority(ctx, st)
}

func readAuthority(ctx context.Context, st Store) (*Authority, error) {
	b, err := st.GetSecret(ctx, caSecret)
	if err != nil {
		return nil, fmt.Errorf("agent CA: %w", err)
	}
	var s storedCA
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("agent CA: decode: %w", err)
	}
	ca, err := kubecert.ParseCA(s.CertPEM, s.KeyPEM)
	if err != nil {
		return nil, fmt.Errorf("agent CA: %w", err)
	}
	return &Authority{ca: ca}, nil
}

// CA returns the CA's certificate (public).
func (a *Authority) CA() *kubecert.CA { return a.ca }

// agentOrganization is the organization of every agent certificate.
const agentOrganization = "strata:agents"

// Identity is the cluster an agent certificate names.
type Identity struct {
	ClusterName, ClusterUID string
}

// subject is the certificate subject naming a cluster: its UID as common name, its name as
// organizational unit.
func (id Identity) subject() pkix.Name {
	return pkix.Name{CommonName: id.ClusterUID, Organization: []string{agentOrganization}, OrganizationalUnit: []string{id.ClusterName}}
}

// identityOf reads the identity of a verified agent certificate's subject.
func identityOf(s pkix.Name) (Identity, bool) {
	if len(s.Organization) != 1 || s.Organization[0] != agentOrganization || len(s.OrganizationalUnit) != 1 || s.CommonName == "" {
		return Identity{}, false
	}
	return Identity{ClusterName: s.OrganizationalUnit[0], ClusterUID: s.CommonName}, true
}

// Sign signs a client certificate of csrPEM's key for the cluster.
func (a *Authority) Sign(csrPEM []byte, id Identity, now time.Time, validity time.Duration) (kubecert.Credential, error) {
	return a.ca.SignClientCSR(csrPEM, id.subject(), now, validity)
}

// Serving issues the agent listener's serving certificate for names and addresses.
func (a *Authority) Serving(names []string, now time.Time, validity time.Duration) (kubecert.Credential, error) {
	dns, ips := splitHosts(names)
	return a.ca.IssueServing("strata agent endpoint", dns, ips, now, validity)
}
