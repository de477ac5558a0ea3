#!/usr/bin/env bash
# Installs Debian packages the tests run for real: squid, the CONNECT proxy of the agent's proxy
# test (internal/agentserver/proxytest), and chromium, the browser of the console's test
# (cmd/strata/console_e2e_test.go). Does nothing when PROGRAM is there already; otherwise
# updates the package lists and installs the packages (as root, or through sudo).
# Usage: hack/apt-install.sh PROGRAM PACKAGE...
set -euo pipefail

program=$1
shift
if [ -x "$program" ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "$*: not installed and no apt-get here: install $* yourself (the tests that need $program skip without it)" >&2
  exit 1
fi
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "$*: not installed; installing needs root or sudo" >&2
    exit 1
  fi
  sudo=(sudo)
fi
echo "$*: installing from Debian's packages (apt-get)"
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
echo "$*: $("$program" --version 2>/dev/null | head -n 1 || true)"
