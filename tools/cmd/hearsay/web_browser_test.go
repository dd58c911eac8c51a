package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The live page is tested in headless Chromium. Without a browser the test
// skips, unless HEARSAY_BROWSER_TEST=require (as tools/ci/browser.sh sets
// in CI): then a missing browser fails it. HEARSAY_CHROMIUM names the
// browser binary (default: the first of chromium, chromium-browser,
// google-chrome, google-chrome-stable on PATH).
// HEARSAY_SCREENSHOT_DIR, if set, receives the screenshots live-page.png
// and live-page-stale.png (the README shows docs/live-page.png:
// HEARSAY_SCREENSHOT_DIR=$PWD/docs go test -run TestLivePageInBrowser
// ./tools/cmd/hearsay refreshes it).

// browserPath finds the Chromium binary.
func browserPath() (string, error) {
	if p := os.Getenv("HEARSAY_CHROMIUM"); p != "" {
		return exec.LookPath(p)
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no chromium, chromium-browser, google-chrome or google-chrome-stable on PATH")
}

// startBrowser starts headless Chromium for t and returns a context of its
// first tab; the browser is closed at the end of the test.
func startBrowser(t *testing.T) context.Context {
	t.Helper()
	path, err := browserPath()
	if err != nil {
		if os.Getenv("HEARSAY_BROWSER_TEST") == "require" || os.Getenv("HEARSAY_CHROMIUM") != "" {
			t.Fatalf("no browser to test the live page: %v (apt-get install chromium, or set HEARSAY_CHROMIUM)", err)
		}
		t.Skipf("no browser to test the live page: %v. Install Debian's chromium package (tools/ci/browser.sh does) to run this test; HEARSAY_BROWSER_TEST=require makes a missing browser a failure", err)
	}
	// Chromium as root needs --no-sandbox. The network is closed to it but
	// for 127.0.0.1: the flags turn off what would reach out (updates,
	// sync, QUIC probes), and a fresh profile has nothing to restore.
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("no-first-run", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 720),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx, chromedp.WithErrorf(t.Logf))
	t.Cleanup(func() {
		if err := chromedp.Cancel(ctx); err != nil {
			t.Logf("closing the browser: %v", err)
		}
		cancelTab()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("start %s: %v", path, err)
	}
	return ctx
}

// waitPage waits until the JavaScript condition cond holds in the page, or
// fails the test with what the page shows.
func waitPage(t *testing.T, tab context.Context, what, cond string, timeout time.Duration) {
	t.Helper()
	_, err := chromedp.Run(tab, chromedp.Poll[bool](cond,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(timeout)))
	if err != nil {
		text, _ := chromedp.Run(tab, chromedp.Evaluate[string](`document.body.dataset.state + "\n" + document.body.innerText`))
		t.Fatalf("%s: not within %v (%v); the page shows:\n%s", what, timeout, err, text)
	}
}

// screenshot saves the page as name in HEARSAY_SCREENSHOT_DIR (or a
// temporary directory) after checking that it is a PNG of the window.
func screenshot(t *testing.T, tab context.Context, name string) {
	t.Helper()
	shot, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("screenshot %s is not a PNG: %v", name, err)
	}
	if b := img.Bounds(); b.Dx() != 1280 || b.Dy() < 600 {
		t.Errorf("screenshot %s is %dx%d, want 1280 wide, 600 high or more", name, b.Dx(), b.Dy())
	}
	dir := os.Getenv("HEARSAY_SCREENSHOT_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// selfAuthority is where an agent gossips, from its /v1/self.
func selfAuthority(t *testing.T, httpAddr string) string {
	t.Helper()
	code, _, body := get(t, "http://"+httpAddr, "/v1/self")
	var self Member
	if err := json.Unmarshal([]byte(body), &self); err != nil || code != 200 {
		t.Fatalf("GET /v1/self = %d %s", code, body)
	}
	return self.Authority
}

// kill ends an agent process with SIGKILL: no leave, its peers must detect
// the failure.
func (p *agentProcess) kill() {
	_ = p.cmd.Process.Kill() // fails only if it already exited
	for l := range p.lines {
		p.log = append(p.log, l)
	}
	_ = p.cmd.Wait() // "signal: killed"
}

// TestLivePageInBrowser opens an agent's live page in headless Chromium
// with a three-agent cluster on 127.0.0.1 behind it, and checks what an
// operator sees: three members up; one agent killed shows dead, in the
// table and the events, without a reload; the page's own agent stopped
// greys the view out as stale.
func TestLivePageInBrowser(t *testing.T) {
	tab := startBrowser(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	names := []string{"edge-1", "api-1", "api-2"}
	tags := [][]string{{"role=edge", "zone=eu-west-1a"}, {"role=api", "zone=eu-west-1b"}, {"role=api", "zone=eu-west-1c"}}
	var agents []*agentProcess
	seed := ""
	for i, name := range names {
		args := []string{"--name", name, "--bind", "127.0.0.1:0", "--http", "127.0.0.1:0",
			"--preset", "local", "--label", "browser-test", "--leave-timeout", "2s"}
		for _, tag := range tags[i] {
			args = append(args, "--tag", tag)
		}
		if seed != "" {
			args = append(args, "--join", seed)
		}
		p := startAgentProcess(ctx, t, args...)
		t.Cleanup(func() {
			if p.cmd.ProcessState == nil {
				p.kill()
			}
		})
		agents = append(agents, p)
		if seed == "" {
			seed = selfAuthority(t, p.http)
		}
	}
	page, killed := agents[0], agents[2]

	if _, err := chromedp.Run(tab, chromedp.Navigate("http://"+page.http+"/")); err != nil {
		t.Fatalf("open the live page: %v", err)
	}
	row := func(name, status string) string {
		return fmt.Sprintf(`document.querySelector('#members tr[data-node=%q][data-status=%q]') !== null`, name, status)
	}
	event := func(name, kind string) string {
		return fmt.Sprintf(`document.querySelector('#events li[data-node=%q][data-kind=%q]') !== null`, name, kind)
	}
	counts := func(live, tombstones int) string {
		return fmt.Sprintf(`document.getElementById("count-live").textContent === "%d" && document.getElementById("count-tomb").textContent === "%d"`, live, tombstones)
	}
	all := func(conds ...string) string { return "(" + strings.Join(conds, ") && (") + ")" }

	waitPage(t, tab, "the page shows three members up", all(
		`document.body.dataset.state === "live"`,
		row("edge-1", "up"), row("api-1", "up"), row("api-2", "up"),
		`document.querySelectorAll("#members tr[data-node]").length === 3`,
		counts(3, 0),
		`document.querySelector('#members tr[data-node="api-1"] .tag').textContent === "role=api"`,
		// The events panel has the stream's history: how edge-1 learnt of the others.
		`document.getElementById("stream").dataset.state === "live"`,
		event("api-1", "join"), event("api-2", "join"),
	), 30*time.Second)
	// A reload would lose this mark.
	if _, err := chromedp.Run(tab, chromedp.Evaluate[bool](`window.sameDocument = true`)); err != nil {
		t.Fatal(err)
	}

	killed.kill()
	waitPage(t, tab, "the page shows api-2 dead without a reload", all(
		`window.sameDocument === true`,
		`document.body.dataset.state === "live"`,
		row("api-2", "dead"), row("edge-1", "up"), row("api-1", "up"),
		counts(2, 1),
		event("api-2", "dead"),
	), 30*time.Second)
	screenshot(t, tab, "live-page.png")

	page.stop(t, syscall.SIGTERM)
	waitPage(t, tab, "the page shows its view stale", all(
		`window.sameDocument === true`,
		`document.body.dataset.state === "stale"`,
		`!document.getElementById("stale").hidden`,
		`document.getElementById("stale").textContent.includes("has not answered since")`,
		`getComputedStyle(document.getElementById("view")).filter.includes("grayscale")`,
		// The last view stays readable under the banner.
		row("api-2", "dead"), row("api-1", "up"),
	), 30*time.Second)
	screenshot(t, tab, "live-page-stale.png")
}
