//go:build unix

package nodesim_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/strata-dev/strata/internal/emulator/kube/kubetest"
	"github.com/strata-dev/strata/internal/emulator/kube/nodesim"
)

// The test binary doubles as the process a ProcessRunner runs: with helperOut in its
// environment it writes a helperReport there, then waits for SIGTERM (or exits at once with
// the code in helperExit).
const (
	helperOut  = "NODESIM_HELPER_OUT"
	helperExit = "NODESIM_HELPER_EXIT"
)

// helperReport is what the helper process saw.
type helperReport struct {
	PID                                    int
	Args                                   []string
	PodIP, PodName, PodNamespace, NodeName string
	Extra                                  string
	// FromSecret and FromConfigMap are variables the pod takes from a Secret and a
	// ConfigMap; OptionalSet says whether an optional one whose key is missing was set.
	FromSecret, FromConfigMap string
	OptionalSet               bool
	Stopped                   bool
}

func TestMain(m *testing.M) {
	if out := os.Getenv(helperOut); out != "" {
		os.Exit(helperMain(out))
	}
	os.Exit(m.Run())
}

func helperMain(out string) int {
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	r := helperReport{PID: os.Getpid(), Args: os.Args[1:], PodIP: os.Getenv("POD_IP"), PodName: os.Getenv("POD_NAME"),
		PodNamespace: os.Getenv("POD_NAMESPACE"), NodeName: os.Getenv("NODE_NAME"), Extra: os.Getenv("EXTRA"),
		FromSecret: os.Getenv("FROM_SECRET"), FromConfigMap: os.Getenv("FROM_CONFIGMAP")}
	_, r.OptionalSet = os.LookupEnv("OPTIONAL")
	if err := writeReport(out, r); err != nil {
		return 100
	}
	if code := os.Getenv(helperExit); code != "" {
		n, _ := strconv.Atoi(code)
		return n
	}
	<-term
	r.Stopped = true
	if err := writeReport(out, r); err != nil {
		return 100
	}
	return 0
}

// writeReport writes r to path at once (through a rename).
func writeReport(path string, r helperReport) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path+".tmp", b, 0o600); err != nil {
		return err
	}
	return os.Rename(path+".tmp", path)
}

// readReport waits for the report at path that satisfies ok.
func readReport(t *testing.T, path string, ok func(helperReport) bool) helperReport {
	t.Helper()
	var r helperReport
	waitFor(t, "the helper's report "+filepath.Base(path), func() (bool, error) {
		b, err := os.ReadFile(path)
		if err != nil {
			return false, err
		}
		r = helperReport{}
		if err := json.Unmarshal(b, &r); err != nil {
			return false, err
		}
		return ok(r), nil
	})
	return r
}

// alive tells whether process pid exists.
func alive(pid int) bool {
	return !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

// TestProcessRunner checks that a ProcessRunner runs the pods whose image it claims as
// processes with a loopback pod IP, their args and environment; that the process stops when
// its pod is deleted, and the pod goes; that a process that exits by itself leaves its
// container terminated with its exit code; that other pods are simulated as usual; and that
// processes stop when the simulator does.
func TestProcessRunner(t *testing.T) {
	cfg := kubetest.Start(t)
	runner := &nodesim.ProcessRunner{Images: map[string]string{"example.com/agent": os.Args[0]}}
	sim, client, stopSim := startSim(t, cfg, runner)
	sim.SetNodes([]nodesim.Node{machine("vm-1", "10.1.0.4")})
	waitReady(t, client, "vm-1")
	createServiceAccount(t, client, "default")
	createEnvSources(t, client)
	dir := t.TempDir()

	agent := createPod(t, client, "default", "agent", "vm-1", "example.com/agent:v1", helperPod(dir, "agent", "", "--listen", ":8080"))
	running := waitRunning(t, client, agent)
	ip, err := netip.ParseAddr(running.Status.PodIP)
	if err != nil || !netip.MustParsePrefix("127.79.0.0/16").Contains(ip) || running.Status.HostIP != "10.1.0.4" {
		t.Errorf("pod IP %q, host IP %q", running.Status.PodIP, running.Status.HostIP)
	}
	r := readReport(t, filepath.Join(dir, "agent"), func(helperReport) bool { return true })
	if r.PodIP != running.Status.PodIP || r.PodName != "agent" || r.PodNamespace != "default" || r.NodeName != "vm-1" ||
		r.Extra != "literal" || !slices.Equal(r.Args, []string{"--listen", ":8080"}) ||
		r.FromSecret != "http://proxy.example:3128" || r.FromConfigMap != "from-a-configmap" || r.OptionalSet {
		t.Errorf("the process saw %+v", r)
	}

	plain := waitRunning(t, client, createPod(t, client, "default", "plain", "vm-1", "nginx:1.27"))
	if !netip.MustParsePrefix("10.244.0.0/16").Contains(netip.MustParseAddr(plain.Status.PodIP)) {
		t.Errorf("a pod no Runner claims got the IP %s", plain.Status.PodIP)
	}

	if err := client.CoreV1().Pods("default").Delete(context.Background(), "agent", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitGone(t, client, agent)
	if alive(r.PID) {
		t.Errorf("process %d still runs after its pod was deleted", r.PID)
	}
	if r := readReport(t, filepath.Join(dir, "agent"), func(helperReport) bool { return true }); !r.Stopped {
		t.Error("the process was not stopped with SIGTERM")
	}

	checkExit(t, client, dir)

	last := waitRunning(t, client, createPod(t, client, "default", "last", "vm-1", "example.com/agent:v2", helperPod(dir, "last", "")))
	r = readReport(t, filepath.Join(dir, "last"), func(helperReport) bool { return true })
	if r.PodIP != last.Status.PodIP || r.PodIP == running.Status.PodIP {
		t.Errorf("second agent's IP %s (the first's was %s)", r.PodIP, running.Status.PodIP)
	}
	stopSim()
	if alive(r.PID) {
		t.Errorf("process %d still runs after the simulator stopped", r.PID)
	}
}

// checkExit checks that a process that exits by itself leaves its container terminated
// with its exit code, and a pod that does not restart Failed.
func checkExit(t *testing.T, client kubernetes.Interface, dir string) {
	t.Helper()
	pod := createPod(t, client, "default", "exits", "vm-1", "example.com/agent:v1", helperPod(dir, "exits", "3"), func(p *corev1.Pod) {
		p.Spec.RestartPolicy = corev1.RestartPolicyNever
	})
	waitFor(t, "pod exits Failed", func() (bool, error) {
		p, err := client.CoreV1().Pods("default").Get(context.Background(), pod.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		cs := p.Status.ContainerStatuses
		return p.Status.Phase == corev1.PodFailed && len(cs) == 1 && cs[0].State.Terminated != nil &&
			cs[0].State.Terminated.ExitCode == 3 && cs[0].State.Terminated.Reason == "Error" && !cs[0].Ready, nil
	})
}

// createEnvSources creates the Secret and the ConfigMap env-source that helper pods take
// variables from, as a kubelet resolves them.
func createEnvSources(t *testing.T, client kubernetes.Interface) {
	t.Helper()
	ctx := context.Background()
	meta := metav1.ObjectMeta{Name: "env-source", Namespace: "default"}
	if _, err := client.CoreV1().Secrets("default").Create(ctx, &corev1.Secret{ObjectMeta: meta,
		Data: map[string][]byte{"proxy": []byte("http://proxy.example:3128")}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: meta,
		Data: map[string]string{"value": "from-a-configmap"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// helperPod has a pod run the helper, reporting to dir/name, exiting with exit if set. Its
// variables include a literal, a fieldRef, a secretKeyRef, a configMapKeyRef and an optional
// secretKeyRef to a missing key.
func helperPod(dir, name, exit string, args ...string) func(*corev1.Pod) {
	optional := true
	return func(p *corev1.Pod) {
		c := &p.Spec.Containers[0]
		c.Command = []string{"/ignored"}
		c.Args = args
		c.Env = []corev1.EnvVar{
			{Name: helperOut, Value: filepath.Join(dir, name)},
			{Name: "EXTRA", Value: "literal"},
			{Name: "FROM_FIELD", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
			{Name: "FROM_SECRET", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: "env-source"}, Key: "proxy"}}},
			{Name: "FROM_CONFIGMAP", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: "env-source"}, Key: "value"}}},
			{Name: "OPTIONAL", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: "env-source"}, Key: "absent", Optional: &optional}}},
		}
		if exit != "" {
			c.Env = append(c.Env, corev1.EnvVar{Name: helperExit, Value: exit})
		}
	}
}
