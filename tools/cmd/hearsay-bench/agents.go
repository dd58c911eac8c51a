package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
)

// agentBinaries are the two agents of the process mode.
type agentBinaries struct {
	hearsay, memberlist string
	// pprof starts them with --pprof.
	pprof bool
	// tmp is the directory the binaries were built into, removed by
	// cleanup; "" when they were given.
	tmp string
}

func (a *agentBinaries) cleanup() {
	if a.tmp != "" {
		_ = os.RemoveAll(a.tmp)
	}
}

// agentPackages are the agents' import paths, built when no binary is given.
var agentPackages = struct{ hearsay, memberlist string }{
	hearsay:    "github.com/hearsay-go/hearsay/tools/cmd/hearsay",
	memberlist: "github.com/hearsay-go/hearsay/tools/cmd/memberlist-agent",
}

// findAgents returns the given binaries, or builds the missing ones with go
// build into a temporary directory (which needs the working directory to be
// inside this repository).
func findAgents(ctx context.Context, hearsay, memberlist string, progress io.Writer) (*agentBinaries, error) {
	a := &agentBinaries{hearsay: hearsay, memberlist: memberlist}
	for _, bin := range []string{hearsay, memberlist} {
		if bin == "" {
			continue
		}
		if _, err := os.Stat(bin); err != nil {
			return nil, fmt.Errorf("agent binary: %w", err)
		}
	}
	if hearsay != "" && memberlist != "" {
		return a, nil
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return nil, fmt.Errorf("building the agents: %w (or pass -hearsay-bin and -memberlist-bin)", err)
	}
	a.tmp, err = os.MkdirTemp("", "hearsay-bench-agents-")
	if err != nil {
		return nil, err
	}
	build := func(pkg, name string) (string, error) {
		out := filepath.Join(a.tmp, name)
		cmd := exec.CommandContext(ctx, goBin, "build", "-o", out, pkg)
		cmd.Stdout, cmd.Stderr = progress, progress
		if err := cmd.Run(); err != nil {
			return "", fmt.Errorf("go build %s: %w (run from inside the repository, or pass -hearsay-bin and -memberlist-bin)", pkg, err)
		}
		return out, nil
	}
	if a.hearsay == "" {
		if a.hearsay, err = build(agentPackages.hearsay, "hearsay"); err != nil {
			a.cleanup()
			return nil, err
		}
	}
	if a.memberlist == "" {
		if a.memberlist, err = build(agentPackages.memberlist, "memberlist-agent"); err != nil {
			a.cleanup()
			return nil, err
		}
	}
	return a, nil
}
