package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/stevedore-dev/stevedore/engine/sign"
)

// openPTY opens a pseudo-terminal pair (pty(7)): the test types on the
// master, the command reads its terminal stdin from the slave.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("open /dev/ptmx: %v", err)
	}
	master = os.NewFile(uintptr(fd), "/dev/ptmx")
	t.Cleanup(func() { master.Close() })
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil { // unlockpt
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN) // ptsname
	if err != nil {
		t.Fatal(err)
	}
	slave, err = os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { slave.Close() })
	return master, slave
}

// terminal is what the master side of a pty has shown so far.
type terminal struct {
	mu  sync.Mutex
	out bytes.Buffer
}

func (s *terminal) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.String()
}

// waitFor waits until the screen shows want n times.
func (s *terminal) waitFor(t *testing.T, want string, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); strings.Count(s.String(), want) < n; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("terminal never showed %q %d times; it shows %q", want, n, s.String())
		}
	}
}

// runOnTTY runs the command line with stdin and stderr on a fresh pty and
// answers each prompt with the next of answers. It returns the exit status
// and what the terminal showed.
func runOnTTY(t *testing.T, args []string, answers ...string) (int, string) {
	t.Helper()
	master, slave := openPTY(t)
	var screen terminal
	go func() {
		buf := make([]byte, 1024)
		for {
			n, err := master.Read(buf)
			screen.mu.Lock()
			screen.out.Write(buf[:n])
			screen.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	root := newRootCmd()
	root.SetArgs(args)
	root.SetIn(slave)
	root.SetErr(slave)
	root.SetOut(&bytes.Buffer{})
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(context.Background()) }()
	for i, a := range answers {
		screen.waitFor(t, "Enter password for private key", i+1)
		if _, err := master.Write([]byte(a + "\n")); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case err := <-done:
		code := exitOK
		if err != nil {
			code = exitFailure
			t.Logf("%v: %v", args, err)
		}
		return code, screen.String()
	case <-time.After(30 * time.Second):
		t.Fatalf("%v did not finish; terminal: %q", args, screen.String())
		return 0, ""
	}
}

// TestPasswordPrompt: with no COSIGN_PASSWORD, generate-key-pair asks twice
// on a terminal (echo off) and sign asks once, as cosign does; without a
// terminal the verbs fail at once saying what to set.
func TestPasswordPrompt(t *testing.T) {
	t.Chdir(t.TempDir())
	t.Setenv("COSIGN_PASSWORD", "")
	os.Unsetenv("COSIGN_PASSWORD")
	const pw = "correct-horse"

	code, screen := runOnTTY(t, []string{"generate-key-pair", "--output-prefix", "k"}, pw, pw)
	if code != exitOK {
		t.Fatalf("generate-key-pair on a tty failed; terminal: %q", screen)
	}
	if strings.Contains(screen, pw) {
		t.Errorf("the password was echoed: %q", screen)
	}
	if !strings.Contains(screen, "Enter password for private key again: ") {
		t.Errorf("no confirmation prompt: %q", screen)
	}
	raw, err := os.ReadFile("k.key")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sign.DecryptPrivateKey(raw, []byte(pw)); err != nil {
		t.Errorf("the key does not open with the typed password: %v", err)
	}

	if code, screen := runOnTTY(t, []string{"generate-key-pair", "--output-prefix", "other"}, pw, "typo"); code == exitOK {
		t.Errorf("different answers made a key; terminal: %q", screen)
	}
	if _, err := os.Stat("other.key"); err == nil {
		t.Error("other.key written although the passwords differed")
	}

	// sign asks once, then signs an image in a layout.
	rootfs := filepath.Join(t.TempDir(), "rootfs")
	if err := os.MkdirAll(rootfs, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rootfs, "hello"), []byte("hi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"build", rootfs, "-t", "oci:layout:v1", "--reproducible"}, &stdout, &stderr); code != exitOK {
		t.Fatalf("build: %s", stderr.String())
	}
	if code, screen := runOnTTY(t, []string{"sign", "--key", "k.key", "oci:layout:v1"}, pw); code != exitOK || strings.Count(screen, "Enter password") != 1 {
		t.Errorf("sign on a tty: exit %d; terminal: %q", code, screen)
	}

	// No terminal, no variable: an error naming COSIGN_PASSWORD, no read.
	root := newRootCmd()
	root.SetArgs([]string{"generate-key-pair", "--output-prefix", "k3"})
	root.SetIn(strings.NewReader("typed\n"))
	root.SetOut(&stdout)
	if err := root.ExecuteContext(context.Background()); err == nil || !strings.Contains(err.Error(), "COSIGN_PASSWORD") {
		t.Errorf("without a terminal: %v", err)
	}
}
