package main

import (
	"os"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/strata-dev/strata/internal/agent"
	"github.com/strata-dev/strata/internal/agentmanifest"
	"github.com/strata-dev/strata/internal/cli"
)

// agentOptions are the flags of `strata agent`.
type agentOptions struct {
	kubeconfig, namespace, podIP, logFormat, webhookURL string
	webhookPort                                         int
	heartbeat                                           time.Duration
}

// newAgentCommand returns `strata agent`, the in-cluster agent that strata's manifest runs.
func newAgentCommand() *cobra.Command {
	o := &agentOptions{}
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run strata's in-cluster agent (started by the manifest strata installs)",
		Long: `Run strata's agent inside a cluster. It reads the Secret strata-agent of its namespace (the
server's address, the CA of its agent endpoint and a single-use registration token), registers
for a client certificate kept in the Secret strata-agent-identity, holds one mutual-TLS gRPC
stream to the server (through HTTPS_PROXY when set), applies the network, storage and addon
layers of the cluster's profiles, and injects the private cloud gateway's proxy into pods
labelled spectrocloud.com/connection: proxy. See docs/agent.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			logger, err := newLogger(o.logFormat, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			kube, err := agentKubeConfig(o.kubeconfig)
			if err != nil {
				return err
			}
			return agent.Run(cmd.Context(), agent.Config{Kube: kube, Namespace: o.namespace, Version: cli.Version,
				PodIP: o.podIP, WebhookPort: o.webhookPort, WebhookURL: o.webhookURL, Heartbeat: o.heartbeat,
				WebhookSelector: map[string]string{agentmanifest.AppLabel: agentmanifest.Name}, Logger: logger})
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.kubeconfig, "kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig of the cluster (default: the pod's service account)")
	f.StringVar(&o.namespace, "namespace", envOr("POD_NAMESPACE", agentmanifest.Namespace), "the agent's namespace")
	f.StringVar(&o.podIP, "pod-ip", os.Getenv("POD_IP"), "the pod's IP, where the proxy webhook listens")
	f.IntVar(&o.webhookPort, "webhook-port", 9443, "port of the proxy webhook")
	f.StringVar(&o.webhookURL, "webhook-url", "", "the webhook's URL for the API server, instead of its Service (tests)")
	f.DurationVar(&o.heartbeat, "heartbeat", 0, "how often the agent sends a heartbeat (default 15s)")
	f.StringVar(&o.logFormat, "log-format", "text", "log format: text or json")
	return cmd
}

// agentKubeConfig is the kubeconfig's configuration, or the pod's service account's.
func agentKubeConfig(path string) (*rest.Config, error) {
	if path != "" {
		return clientcmd.BuildConfigFromFlags("", path)
	}
	return rest.InClusterConfig()
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
