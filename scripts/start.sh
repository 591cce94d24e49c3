#!/usr/bin/env bash
# The README's "start the app" command: does the installs npm start needs (Node >= 22.12, Debian
# packages when root, npm ci), then starts the app. A script, not `. scripts/env.sh` in the
# user's shell, so env.sh's `set -euo pipefail` never changes their interactive shell.
# Arguments go to the app: `--demo [--demo-nodes N]` starts the local demo fleet and opens it.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
exec npm start -- "$@"
