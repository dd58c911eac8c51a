#!/usr/bin/env bash
# Extra CI checks, run by .ci/run when this file is executable: the agent's
# multi-host test on network namespaces (needs root; fails, never skips,
# when it cannot run).
set -euo pipefail
cd "$(dirname "$0")/../.."
bash tools/netns/multihost.sh
