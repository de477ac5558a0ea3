package main

import (
	"fmt"
	"net/url"
	"os"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/strata-dev/strata/internal/agent"
	"github.com/strata-dev/strata/internal/agentmanifest"
	"github.com/strata-dev/strata/internal/cli"
	"github.com/strata-dev/strata/internal/doctor"
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
	cmd.AddCommand(newAgentDoctorCommand())
	return cmd
}

// newAgentDoctorCommand returns `strata agent doctor`, which checks the way from here to the
// agent endpoint, through the proxy, step by step (internal/doctor).
func newAgentDoctorCommand() *cobra.Command {
	return newDoctorCommand("agent", "server", doctor.AgentWording,
		"the agent endpoint, host:port (the server key of the Secret strata-agent)",
		"PEM file of the endpoint's CA (the ca.crt key of the Secret strata-agent)")
}

// newDoctorCommand returns the doctor of who (agent or gateway), which names the endpoint's
// flag serverFlag.
func newDoctorCommand(who, serverFlag string, wording doctor.Wording, serverHelp, caHelp string) *cobra.Command {
	var server, caFile, proxy, proxyCAFile string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check the " + who + "'s way to the server: DNS, proxy, TLS interception, HTTP/2, WebSocket",
		Long: `Check, in order, what the ` + who + `'s connection to the server's agent endpoint needs, and say
what each observation means: DNS of the server and of the proxy, TCP or CONNECT through the
proxy (a 407 means the proxy wants credentials), whose TLS certificate is presented (the
server's, or a TLS-intercepting proxy's: then it names the issuer to trust or the host to
exempt), whether HTTP/2 is negotiated (gRPC needs it), and whether the WebSocket fallback on
/v1/tunnel works. It exits non-zero when neither gRPC nor the WebSocket fallback can connect.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if server == "" || caFile == "" {
				return fmt.Errorf("--%s and --ca-file are required", serverFlag)
			}
			serverCA, err := os.ReadFile(caFile)
			if err != nil {
				return err
			}
			o := doctor.Options{Server: server, ServerCA: serverCA, UserAgent: "strata-" + who + "-doctor/" + cli.Version,
				Timeout: timeout, Wording: wording}
			if proxyCAFile != "" {
				if o.ProxyCA, err = os.ReadFile(proxyCAFile); err != nil {
					return err
				}
			}
			switch {
			case cmd.Flags().Changed("proxy") && proxy == "":
			case cmd.Flags().Changed("proxy"):
				if o.Proxy, err = url.Parse(proxy); err != nil || o.Proxy.Host == "" {
					return fmt.Errorf("--proxy %q: not a URL like http://host:port", proxy)
				}
			default:
				if o.Proxy, err = doctor.ProxyFromEnvironment(server); err != nil {
					return fmt.Errorf("the proxy of the environment (HTTPS_PROXY): %w", err)
				}
			}
			results, err := doctor.Run(cmd.Context(), o)
			if err != nil {
				return err
			}
			if !doctor.Print(cmd.OutOrStdout(), o.Wording, results) {
				return fmt.Errorf("the %s cannot reach the server", who)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&server, serverFlag, "", serverHelp)
	f.StringVar(&caFile, "ca-file", "", caHelp)
	f.StringVar(&proxy, "proxy", "", "proxy URL, http://[user:password@]host:port (default: HTTPS_PROXY and NO_PROXY; empty: none)")
	f.StringVar(&proxyCAFile, "proxy-ca-file", "", "PEM file of the proxy's CA (a proxy that intercepts TLS, or an https proxy)")
	f.DurationVar(&timeout, "timeout", 10*time.Second, "time limit of each check")
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
