#!/usr/bin/env bash
# The agent's live page, tested in headless Chromium (TestLivePageInBrowser in
# tools/cmd/hearsay): installs Debian's chromium package when no browser is on
# PATH, then runs the test with HEARSAY_BROWSER_TEST=require, so that a missing
# browser fails instead of skipping. .ci/run calls this script.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PATH:/usr/local/go/bin"

have_browser() {
	[ -n "${HEARSAY_CHROMIUM:-}" ] && return 0
	for b in chromium chromium-browser google-chrome google-chrome-stable; do
		command -v "$b" >/dev/null && return 0
	done
	return 1
}

if ! have_browser; then
	echo "installing chromium (apt-get)"
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	$sudo apt-get update -qq
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi

cd tools
HEARSAY_BROWSER_TEST=require GOWORK=off go test -race -count=1 -run '^TestLivePageInBrowser$' ./cmd/hearsay/
