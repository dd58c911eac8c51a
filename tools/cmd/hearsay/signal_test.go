package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSignals runs the agent as a process and checks that SIGTERM and SIGINT
// make it leave and exit 0.
func TestSignals(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, os.Args[0], "agent", "--name", "solo", "--bind", "127.0.0.1:0",
				"--http", "127.0.0.1:0", "--preset", "local", "--leave-timeout", "1s")
			cmd.Env = append(os.Environ(), "HEARSAY_TEST_RUN_MAIN=1")
			stderr, err := cmd.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// Read the log until the agent says where it serves.
			lines := make(chan string, 100)
			go func() {
				defer close(lines)
				sc := bufio.NewScanner(stderr)
				for sc.Scan() {
					lines <- sc.Text()
				}
			}()
			httpRE := regexp.MustCompile(`msg="agent started".* http=(\S+)`)
			var log []string
			addr := ""
			for addr == "" {
				select {
				case l, ok := <-lines:
					if !ok {
						t.Fatalf("agent exited before it started:\n%s", strings.Join(log, "\n"))
					}
					log = append(log, l)
					if m := httpRE.FindStringSubmatch(l); m != nil {
						addr = m[1]
					}
				case <-ctx.Done():
					t.Fatal("agent did not start")
				}
			}
			if code, _, body := get(t, "http://"+addr, "/healthz"); code != 200 {
				t.Fatalf("GET /healthz = %d %q", code, body)
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			for l := range lines {
				log = append(log, l)
			}
			if err := cmd.Wait(); err != nil {
				t.Fatalf("agent after %v: %v\n%s", sig, err, strings.Join(log, "\n"))
			}
			text := strings.Join(log, "\n")
			for _, want := range []string{"signal received, leaving the cluster", "agent stopped"} {
				if !strings.Contains(text, want) {
					t.Errorf("log lacks %q:\n%s", want, text)
				}
			}
		})
	}
}
