package nodesim

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// KubeconfigEnv names the variable that gives a Runner's process its pod's credentials.
const KubeconfigEnv = "KUBECONFIG"

// tokenSeconds is how long a runner pod's service-account token is valid.
const tokenSeconds = 7 * 24 * 3600

// withCredentials returns a copy of pod whose first container's environment names, in
// KubeconfigEnv, a kubeconfig of the pod's service account: a token bound to the pod (as the
// kubelet projects one), the API server's address and CA. It plays the kubelet's service
// account volume for a process that cannot read /var/run/secrets. The file is in dir and
// removed by the returned function. Without Options.APIServer the pod is returned as is.
func (s *Simulator) withCredentials(ctx context.Context, pod *corev1.Pod, dir string) (*corev1.Pod, func(), error) {
	if s.opts.APIServer == "" || (pod.Spec.AutomountServiceAccountToken != nil && !*pod.Spec.AutomountServiceAccountToken) {
		return pod, func() {}, nil
	}
	sa := pod.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	exp := int64(tokenSeconds)
	tr, err := s.client.CoreV1().ServiceAccounts(pod.Namespace).CreateToken(ctx, sa, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &exp,
			BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID}},
	}, metav1.CreateOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("token of service account %s/%s: %w", pod.Namespace, sa, err)
	}
	kc := clientcmdapi.NewConfig()
	kc.Clusters["cluster"] = &clientcmdapi.Cluster{Server: s.opts.APIServer, CertificateAuthorityData: s.opts.APIServerCA}
	kc.AuthInfos["pod"] = &clientcmdapi.AuthInfo{Token: tr.Status.Token}
	kc.Contexts["pod"] = &clientcmdapi.Context{Cluster: "cluster", AuthInfo: "pod", Namespace: pod.Namespace}
	kc.CurrentContext = "pod"
	b, err := clientcmd.Write(*kc)
	if err != nil {
		return nil, nil, fmt.Errorf("kubeconfig of pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	d, err := os.MkdirTemp(dir, "pod-")
	if err != nil {
		return nil, nil, fmt.Errorf("kubeconfig of pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	path := filepath.Join(d, "kubeconfig")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		_ = os.RemoveAll(d)
		return nil, nil, fmt.Errorf("kubeconfig of pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	out := pod.DeepCopy()
	c := &out.Spec.Containers[0]
	c.Env = append(c.Env, corev1.EnvVar{Name: KubeconfigEnv, Value: path})
	return out, func() { _ = os.RemoveAll(d) }, nil
}
