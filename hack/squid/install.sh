#!/usr/bin/env bash
# Installs Debian's squid, the real CONNECT proxy that the agent's proxy test
# (internal/agentserver/proxytest) runs on loopback. Does nothing when squid is installed
# already; otherwise updates the package lists and installs it (as root, or through sudo).
# Usage: hack/squid/install.sh
set -euo pipefail

if command -v squid >/dev/null 2>&1 || [ -x /usr/sbin/squid ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "squid: not installed and no apt-get here: install squid yourself (the proxy test skips without it)" >&2
  exit 1
fi
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "squid: not installed; installing it needs root or sudo" >&2
    exit 1
  fi
  sudo=(sudo)
fi
echo "squid: installing Debian's squid (apt-get)"
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends squid >/dev/null
echo "squid: $(/usr/sbin/squid -v | head -n 1)"
