package nodesim

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Runner runs some pods as local processes instead of simulating them (strata's own agent,
// say). A Simulator asks Claims of each pod bound to one of its running nodes; for a pod
// claimed, it gives the pod a loopback IP from 127.79.0.0/16, calls Start, and reports the pod
// Running and Ready with that IP. It calls stop once when the pod is deleted, when the
// pod's machine stops or goes, or when the simulator stops; stop returns once the process
// has ended.
type Runner interface {
	// Claims tells whether the Runner runs pod.
	Claims(pod *corev1.Pod) bool
	// Start starts pod with podIP; ctx bounds the start only, not the process's life.
	Start(ctx context.Context, pod *corev1.Pod, podIP string) (stop func(), err error)
}

// ExitReporter is implemented by Runners whose processes may end by themselves. The
// Simulator then calls StartReporting instead of Start; exited is called once, with the exit
// code, when the process ends without stop having been called, and the Simulator reports
// the pod's first container terminated with that code. It is not restarted.
type ExitReporter interface {
	// StartReporting is Start, with exited called if the process ends by itself.
	StartReporting(ctx context.Context, pod *corev1.Pod, podIP string, exited func(exitCode int)) (stop func(), err error)
}

// stopTimeout is how long a stopped process has between SIGTERM and SIGKILL.
const stopTimeout = 5 * time.Second

// ProcessRunner is a Runner that runs the pods whose first container's image starts with
// one of its image prefixes as the executable the prefix maps to (the longest prefix wins).
// The process gets the first container's args (its command is ignored) and an environment
// of the container's literal env values plus POD_IP, POD_NAME, POD_NAMESPACE and NODE_NAME.
// It runs in its own process group, is killed when the emulator dies (on Linux), and is
// stopped with SIGTERM, then SIGKILL after 5 s. Its output goes to Logger at Debug level.
type ProcessRunner struct {
	// Images maps image prefixes to the path of the executable that runs them.
	Images map[string]string
	// Logger receives the processes' lifecycle and output; nil discards them.
	Logger *slog.Logger
}

var _ interface {
	Runner
	ExitReporter
} = (*ProcessRunner)(nil)

// Claims tells whether pod's first container's image matches one of r.Images.
func (r *ProcessRunner) Claims(pod *corev1.Pod) bool {
	return r.executable(pod) != ""
}

// Start runs pod's process; see StartReporting.
func (r *ProcessRunner) Start(ctx context.Context, pod *corev1.Pod, podIP string) (func(), error) {
	return r.StartReporting(ctx, pod, podIP, nil)
}

// StartReporting runs pod's process and returns the function that stops it; exited, if not
// nil, is called with the exit code if the process ends by itself.
func (r *ProcessRunner) StartReporting(ctx context.Context, pod *corev1.Pod, podIP string, exited func(int)) (func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("start pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	path := r.executable(pod)
	if path == "" {
		return nil, fmt.Errorf("start pod %s/%s: no executable for its image", pod.Namespace, pod.Name)
	}
	log := r.logger().With("pod", pod.Namespace+"/"+pod.Name, "executable", path)
	c := pod.Spec.Containers[0]
	cmd := exec.Command(path, c.Args...)
	cmd.Env = processEnv(pod, podIP)
	cmd.SysProcAttr = sysProcAttr()
	cmd.Stdout = &lineLogger{log: log, stream: "stdout"}
	cmd.Stderr = &lineLogger{log: log, stream: "stderr"}
	cmd.WaitDelay = time.Second
	p := &process{cmd: cmd, log: log, done: make(chan struct{})}
	started := make(chan error, 1)
	go p.run(started, exited)
	if err := <-started; err != nil {
		return nil, fmt.Errorf("start pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	log.Info("process started", "pid", cmd.Process.Pid, "podIP", podIP)
	return p.stop, nil
}

func (r *ProcessRunner) logger() *slog.Logger {
	if r.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Logger
}

// executable returns the executable of the longest image prefix pod's first container's
// image has, or "".
func (r *ProcessRunner) executable(pod *corev1.Pod) string {
	if len(pod.Spec.Containers) == 0 {
		return ""
	}
	image, best, path := pod.Spec.Containers[0].Image, -1, ""
	for prefix, p := range r.Images {
		if strings.HasPrefix(image, prefix) && len(prefix) > best {
			best, path = len(prefix), p
		}
	}
	return path
}

// processEnv is the environment of pod's process.
func processEnv(pod *corev1.Pod, podIP string) []string {
	var env []string
	for _, e := range pod.Spec.Containers[0].Env {
		if e.ValueFrom == nil {
			env = append(env, e.Name+"="+e.Value)
		}
	}
	return append(env,
		"POD_IP="+podIP,
		"POD_NAME="+pod.Name,
		"POD_NAMESPACE="+pod.Namespace,
		"NODE_NAME="+pod.Spec.NodeName,
	)
}

// process is one started process of a ProcessRunner.
type process struct {
	cmd      *exec.Cmd
	log      *slog.Logger
	done     chan struct{} // closed once the process has been waited for
	stopping atomic.Bool
	once     sync.Once
}

// run starts the process, sends the outcome to started, waits for the process to end and
// calls exited unless it was stopped. It keeps its OS thread to itself all along: the
// parent-death signal fires when the thread that started the process ends, and Go ends
// threads only when a goroutine locked to one exits, which this one does only after the
// process has ended.
func (p *process) run(started chan<- error, exited func(int)) {
	runtime.LockOSThread()
	if err := p.cmd.Start(); err != nil {
		runtime.UnlockOSThread()
		started <- err
		return
	}
	started <- nil
	err := p.cmd.Wait()
	runtime.UnlockOSThread()
	code := exitCode(p.cmd.ProcessState)
	close(p.done)
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		p.log.Warn("waiting for process", "err", err)
	}
	if p.stopping.Load() {
		p.log.Info("process stopped", "exitCode", code)
		return
	}
	p.log.Info("process exited", "exitCode", code)
	if exited != nil {
		exited(code)
	}
}

// stop ends the process: SIGTERM to its group, SIGKILL after stopTimeout. It returns once the
// process has ended; calling it again does nothing more.
func (p *process) stop() {
	p.once.Do(func() {
		p.stopping.Store(true)
		select {
		case <-p.done:
			return // ended by itself: its pid may belong to another process by now
		default:
		}
		if err := signalGroup(p.cmd.Process, sigTerm); err != nil {
			p.log.Debug("sending SIGTERM", "err", err)
		}
		select {
		case <-p.done:
			return
		case <-time.After(stopTimeout):
		}
		p.log.Warn("process did not stop in time, killing it", "timeout", stopTimeout)
		if err := signalGroup(p.cmd.Process, sigKill); err != nil {
			p.log.Debug("sending SIGKILL", "err", err)
		}
	})
	<-p.done
}

// lineLogger logs what is written to it line by line.
type lineLogger struct {
	log    *slog.Logger
	stream string
	mu     sync.Mutex
	buf    []byte
}

func (l *lineLogger) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, b...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 && len(l.buf) < bufio.MaxScanTokenSize {
			return len(b), nil
		}
		if i < 0 {
			i = len(l.buf)
		}
		l.log.Debug("process output", "stream", l.stream, "line", string(l.buf[:i]))
		l.buf = l.buf[min(i+1, len(l.buf)):]
	}
}
