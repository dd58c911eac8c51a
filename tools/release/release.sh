#!/usr/bin/env bash
# The release step (docs/RELEASING.md): sets the versions the repository's
# modules require of each other, checks the result, commits it and tags it, in
# dependency order: core first, then std, which requires core.
#
#   bash tools/release/release.sh [-n] [-push REMOTE] core=vX.Y.Z [std=vX.Y.Z]
#
# For each module released at version V (core, std, or both):
#   1. every go.mod of the repository that requires it is set to require V
#      (the replace directives to the sibling directories stay);
#   2. checks: every module tidy with GOWORK=off; tools/release/oldest-go.sh
#      (each go line is the oldest Go that builds and tests the module);
#      tools/ci/consumer.sh (outside modules get the new versions from a
#      module proxy built from the tree and build and run against them);
#   3. one commit "release: ..." when a go.mod changed, then annotated tags
#      core/vX.Y.Z and std/vX.Y.Z on it, core's first;
#   4. with -push REMOTE: pushes the branch, then core's tag, then std's, so
#      that std's tag never names a core version the remote lacks. Without
#      it, prints those commands.
#
# -n (dry run) does 1 and 2, then restores the go.mod files: nothing is
# committed or tagged. FAST=1 runs oldest-go.sh without tests (vet only).
#
# Rules it enforces: the work tree is clean; a version is vMAJOR.MINOR.PATCH,
# greater than the module's latest tag and not tagged yet; std released alone
# requires a core version that is already tagged.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PATH:/usr/local/go/bin"

usage() { echo "usage: bash tools/release/release.sh [-n] [-push REMOTE] core=vX.Y.Z [std=vX.Y.Z]" >&2; exit 2; }
die() { echo "release: $*" >&2; exit 1; }

dry_run=0
remote=
declare -A version=()
while [ $# -gt 0 ]; do
	case "$1" in
	-n) dry_run=1 ;;
	-push) [ $# -ge 2 ] || usage; remote=$2; shift ;;
	core=* | std=*) version[${1%%=*}]=${1#*=} ;;
	*) usage ;;
	esac
	shift
done
[ ${#version[@]} -gt 0 ] || usage

prefix=github.com/hearsay-go/hearsay
modules=(core std examples tools) # every module of the repository
order=(core std)                  # the published ones, dependencies first

[ -z "$(git status --porcelain)" ] || die "the work tree is not clean: commit or stash first"

# latest_tag MODULE: the module's highest vX.Y.Z tag, without the prefix.
latest_tag() {
	git tag -l "$1/v*" | sed "s|^$1/||" | grep -E '^v[0-9]+\.[0-9]+\.[0-9]+$' | sort -V | tail -n 1 || true
}

for m in "${order[@]}"; do
	v=${version[$m]:-}
	[ -n "$v" ] || continue
	[[ "$v" =~ ^v[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "$m=$v: a version is vMAJOR.MINOR.PATCH"
	! git rev-parse -q --verify "refs/tags/$m/$v" >/dev/null || die "tag $m/$v exists already"
	last=$(latest_tag "$m")
	if [ -n "$last" ] && [ "$(printf '%s\n%s\n' "$last" "$v" | sort -V | tail -n 1)" != "$v" ]; then
		die "$m=$v is not greater than its latest tag $m/$last"
	fi
done
if [ -n "${version[std]:-}" ] && [ -z "${version[core]:-}" ]; then
	required=$(cd std && GOWORK=off go list -m -f '{{.Version}}' "$prefix/core")
	git rev-parse -q --verify "refs/tags/core/$required" >/dev/null ||
		die "std requires core $required, which is not tagged: release core too (core=...)"
fi

# restore undoes step 1 (a dry run, or a failed check).
restore() {
	local m
	for m in "${modules[@]}"; do git checkout -q -- "$m/go.mod"; done
}
trap restore EXIT

echo "== 1. requirements"
for m in "${order[@]}"; do
	v=${version[$m]:-}
	[ -n "$v" ] || continue
	for dependent in "${modules[@]}"; do
		if grep -q "^[[:space:]]*$prefix/$m v" "$dependent/go.mod" || grep -q "^require $prefix/$m v" "$dependent/go.mod"; then
			(cd "$dependent" && go mod edit -require="$prefix/$m@$v")
			echo "$dependent/go.mod requires $m $v"
		fi
	done
done

echo "== 2. checks"
for m in "${modules[@]}"; do
	(cd "$m" && GOWORK=off go mod tidy -diff) || die "$m is not tidy with the new requirements"
done
TESTS=$([ "${FAST:-0}" = 1 ] && echo 0 || echo 1) bash tools/release/oldest-go.sh
bash tools/ci/consumer.sh

if [ "$dry_run" = 1 ]; then
	echo "release: dry run passed; go.mod files restored, nothing committed or tagged"
	exit 0
fi

echo "== 3. commit and tags"
summary=
for m in "${order[@]}"; do
	if [ -n "${version[$m]:-}" ]; then summary+="${summary:+, }$m ${version[$m]}"; fi
done
trap - EXIT
if [ -n "$(git status --porcelain)" ]; then
	git add $(printf '%s/go.mod ' "${modules[@]}")
	git commit -q -m "release: $summary" -m "Sets the versions the repository's modules require of each other (tools/release/release.sh)."
fi
tags=()
for m in "${order[@]}"; do
	v=${version[$m]:-}
	[ -n "$v" ] || continue
	git tag -a "$m/$v" -m "$m $v"
	tags+=("$m/$v")
	echo "tagged $m/$v at $(git rev-parse --short HEAD)"
done

echo "== 4. push, in this order"
branch=$(git rev-parse --abbrev-ref HEAD)
if [ -n "$remote" ]; then
	git push "$remote" "$branch"
	for t in "${tags[@]}"; do git push "$remote" "refs/tags/$t"; done
else
	echo "git push REMOTE $branch"
	for t in "${tags[@]}"; do echo "git push REMOTE refs/tags/$t"; done
fi
