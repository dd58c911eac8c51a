package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"time"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "modproxy:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("modproxy", flag.ContinueOnError)
	repo := fs.String("repo", ".", "root of the repository (the directory holding go.work)")
	out := fs.String("out", "", "directory to write the proxy into (created; must be empty or absent)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || fs.NArg() != 0 {
		return fmt.Errorf("usage: modproxy [-repo DIR] -out DIR")
	}
	if err := emptyOrAbsent(*out); err != nil {
		return err
	}
	ws, err := readWorkspace(*repo)
	if err != nil {
		return err
	}
	published, err := ws.published()
	if err != nil {
		return err
	}
	if len(published) == 0 {
		return fmt.Errorf("no module of %s is required by another: nothing to publish", *repo)
	}
	now := time.Now().UTC().Truncate(time.Second)
	for _, p := range published {
		if err := writeModule(*out, p, now); err != nil {
			return err
		}
	}
	for _, p := range published {
		if err := copyDependencies(*out, p.Dir, ws.paths()); err != nil {
			return err
		}
	}
	for _, p := range published {
		fmt.Fprintln(stdout, p.Path, p.Version)
	}
	return nil
}

// emptyOrAbsent fails when dir exists and holds anything: the proxy is built
// from scratch, so an old version of a module cannot linger in it.
func emptyOrAbsent(dir string) error {
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if len(entries) > 0 {
		return fmt.Errorf("-out %s is not empty", dir)
	}
	return nil
}
