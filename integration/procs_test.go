package integration

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// owner decides how long a process or fixture lives: a *testing.T (until the
// test ends) or pkg (until TestMain returns, for fixtures tests share).
type owner interface {
	Cleanup(func())
	Failed() bool
	TempDir() string
}

// pkgOwner is the owner of package-wide fixtures; TestMain calls close.
type pkgOwner struct {
	mu       sync.Mutex
	dir      string
	n        int
	cleanups []func()
	failed   bool
}

func (p *pkgOwner) Cleanup(f func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cleanups = append(p.cleanups, f)
}

func (p *pkgOwner) Failed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.failed
}

// TempDir returns a fresh directory under the one TestMain removes.
func (p *pkgOwner) TempDir() string {
	p.mu.Lock()
	p.n++
	d := filepath.Join(p.dir, fmt.Sprintf("shared%03d", p.n))
	p.mu.Unlock()
	if err := os.MkdirAll(d, 0o755); err != nil {
		panic(err) // only the harness calls this, with p.dir set by TestMain
	}
	return d
}

// close runs the cleanups, newest first, as testing.T does.
func (p *pkgOwner) close(failed bool) {
	p.mu.Lock()
	p.failed = failed
	fs := p.cleanups
	p.cleanups = nil
	p.mu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
}

// proc is a server process the harness started.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string        // combined stdout and stderr
	done chan struct{} // closed when the process has exited
	err  error         // Wait's result, valid after done
}

// startProc starts bin with args, its output in a log file under o.TempDir().
// o's cleanup stops it (SIGTERM, then SIGKILL after 10s) and prints the log
// when o failed.
func startProc(o owner, name string, env []string, bin string, args ...string) (*proc, error) {
	p := &proc{name: name, log: filepath.Join(o.TempDir(), name+".log"), done: make(chan struct{})}
	f, err := os.Create(p.log)
	if err != nil {
		return nil, err
	}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stdout, p.cmd.Stderr = f, f
	p.cmd.Env = append(os.Environ(), env...)
	if err := p.cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		f.Close()
		close(p.done)
	}()
	o.Cleanup(func() {
		p.stop()
		if o.Failed() {
			p.dumpLog()
		}
	})
	return p, nil
}

// stop sends SIGTERM and waits; a process that ignores it is killed.
func (p *proc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *proc) dumpLog() {
	b, err := os.ReadFile(p.log)
	if err != nil {
		fmt.Fprintf(os.Stderr, "--- %s log: %v\n", p.name, err)
		return
	}
	const max = 16 << 10
	if len(b) > max {
		b = append([]byte("...\n"), b[len(b)-max:]...)
	}
	fmt.Fprintf(os.Stderr, "--- %s log (%s, pid %d):\n%s--- end of %s log\n", p.name, p.log, p.cmd.Process.Pid, b, p.name)
}

// waitReady polls ready until it returns nil, the process exits, or the
// timeout passes; a fixed sleep would be both slow and flaky.
func (p *proc) waitReady(timeout time.Duration, ready func(context.Context) error) error {
	deadline := time.Now().Add(timeout)
	var last error
	for {
		if p.exited() {
			return fmt.Errorf("%s exited before it was ready (%v); log:\n%s", p.name, p.err, readTail(p.log))
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		last = ready(ctx)
		cancel()
		if last == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %v: %v; log:\n%s", p.name, timeout, last, readTail(p.log))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func readTail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	if len(b) > 8<<10 {
		b = b[len(b)-8<<10:]
	}
	return string(b)
}

// freeAddr returns a 127.0.0.1 address no one listens on right now. The
// port could be taken before the server binds it (startStevedore retries
// then); elsewhere readiness fails loudly.
func freeAddr() (string, error) {
	addrs, err := freeAddrs(1)
	if err != nil {
		return "", err
	}
	return addrs[0], nil
}

// freeAddrs returns n distinct 127.0.0.1 addresses no one listens on right
// now: every listener stays open until all n are chosen, so the kernel cannot
// hand one port out twice.
func freeAddrs(n int) ([]string, error) {
	addrs := make([]string, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		addrs = append(addrs, l.Addr().String())
	}
	return addrs, nil
}

// closedAddr returns an address that refuses connections, for "unreachable".
func closedAddr() (string, error) { return freeAddr() }

// errNotYet is what readiness checks return while a server is still starting.
var errNotYet = errors.New("not ready yet")
