package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestCustomTransportConverges(t *testing.T) {
	var out bytes.Buffer
	res, err := run(&out)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	t.Logf("timeline:\n%s", out.String())
	if res.ConvergedAfter <= 0 || res.ConvergedAfter > 5*time.Second {
		t.Errorf("converged after %v of virtual time, want within 5s", res.ConvergedAfter)
	}
	if res.RemovedAfter <= 0 || res.RemovedAfter > 5*time.Second {
		t.Errorf("c removed after %v of virtual time, want within 5s", res.RemovedAfter)
	}
	for _, name := range []string{"a", "b"} {
		if got, want := strings.Join(res.Views[name], " "), "a=up b=up c=removed"; got != want {
			t.Errorf("%s's view = %q, want %q", name, got, want)
		}
	}
	for _, want := range []string{"a sees b: new -> ", "a sees c: ", "converged", "c leaves", "b sees c: leaving -> removed"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("timeline lacks %q", want)
		}
	}
}

func TestCustomTransportIsReproducible(t *testing.T) {
	var first, second bytes.Buffer
	if _, err := run(&first); err != nil {
		t.Fatal(err)
	}
	if _, err := run(&second); err != nil {
		t.Fatal(err)
	}
	if first.String() != second.String() {
		t.Errorf("two runs differ:\n%s\n---\n%s", first.String(), second.String())
	}
}

// The final views, after c's graceful leave: a and b are Up, c is a Removed
// tombstone.
func Example() {
	res, err := run(new(bytes.Buffer))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("a:", strings.Join(res.Views["a"], " "))
	fmt.Println("b:", strings.Join(res.Views["b"], " "))
	// Output:
	// a: a=up b=up c=removed
	// b: a=up b=up c=removed
}
