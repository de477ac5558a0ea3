package cli

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

type kubeconfigOptions struct {
	admin bool
	file  string
}

func newKubeconfigCommand(o *rootOptions) *cobra.Command {
	ko := &kubeconfigOptions{}
	cmd := &cobra.Command{
		Use:   "kubeconfig CLUSTER [--admin] [-o FILE]",
		Short: "Print or save the kubeconfig of a cluster",
		Long: `Get the kubeconfig of a cluster through the strata server, and print it or write it to
a file.

For an AKS cluster it is the kubeconfig Azure lists. The user kubeconfig is the default; on a
cluster with Entra ID integration it signs in with kubelogin, which must be installed. A
cluster whose local accounts are disabled has no admin kubeconfig at all.

For an IaaS cluster the server mints it from the cluster CA it holds: a client certificate
valid for 12 hours (ask again for a new one), for the API server at its load balancer's IP
address, checked against the endpoint's DNS name (tls-server-name), so that it works where that
name does not resolve. The admin kubeconfig is cluster-admin (user strata-admin, group
system:masters); the user kubeconfig is user strata-user in group strata:users, which has no
rights until the cluster's admin grants some, e.g.
kubectl create clusterrolebinding strata-users-view --clusterrole=view --group=strata:users.

--admin asks for the admin kubeconfig: the server refuses it unless it was started with
--allow-admin-kubeconfig, since strata has no per-user authentication yet.

The cluster's control plane must exist. With -o (--output-file) the kubeconfig is written to a
file with mode 0600; an existing file is replaced and set to mode 0600. The kubeconfig holds
credentials: keep it private.`,
		Example: `  # Print the user kubeconfig
  strata kubeconfig prod-aks

  # Save it and use it
  strata kubeconfig prod-aks -o prod-aks.kubeconfig
  kubectl --kubeconfig prod-aks.kubeconfig get nodes

  # The admin kubeconfig, from a server started with --allow-admin-kubeconfig
  strata kubeconfig prod-iaas --admin -o admin.kubeconfig`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runKubeconfig(cmd.Context(), o, ko, args[0])
		},
	}
	f := cmd.Flags()
	f.BoolVar(&ko.admin, "admin", false, "get the admin kubeconfig (cluster-admin) instead of the user one")
	f.StringVarP(&ko.file, "output-file", "o", "", "write the kubeconfig to this file (mode 0600) instead of standard output")
	return cmd
}

func runKubeconfig(ctx context.Context, o *rootOptions, ko *kubeconfigOptions, cluster string) error {
	c, err := o.client()
	if err != nil {
		return err
	}
	kc, err := c.Kubeconfig(ctx, cluster, ko.admin)
	if err != nil {
		return err
	}
	if ko.file == "" || ko.file == "-" {
		_, err := o.data.Write(kc) // exact: a kubeconfig is data
		return err
	}
	if err := writePrivateFile(ko.file, kc); err != nil {
		return fmt.Errorf("write the kubeconfig: %w", err)
	}
	which := "user"
	if ko.admin {
		which = "admin"
	}
	fmt.Fprintf(o.streams.Err, "Wrote the %s kubeconfig of cluster %s to %s.\n", which, cluster, ko.file)
	return nil
}

// writePrivateFile writes data to path with mode 0600. An existing file is truncated and set
// to mode 0600 before anything is written to it.
func writePrivateFile(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if err := f.Chmod(0o600); err != nil {
		_ = f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
