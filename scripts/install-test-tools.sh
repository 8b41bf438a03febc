#!/usr/bin/env bash
# What `npm test` starts besides Node, installed with apt-get (Debian) when missing:
#   redis-server (also runs Sentinel) and redis-cli >= 7: every Redis test; redis-cli builds the clusters
#   openssl: the TLS tests' throwaway certificates
#   nginx (/usr/sbin/nginx): the forward-auth test puts Debian's nginx (auth_request) in front of a backend
#   chromium (/usr/bin/chromium): the console's browser tests (playwright-core drives it; nothing downloaded)
# Run it once on a fresh machine (it uses sudo when not root); .ci/run runs it every time. It exits
# non-zero, naming what is missing, when anything cannot be installed or is too old.
set -euo pipefail

REDIS_MIN_MAJOR=7
missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || missing+=(redis-tools)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
[ -x /usr/sbin/nginx ] || missing+=(nginx)
[ -x /usr/bin/chromium ] || missing+=(chromium)

if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-test-tools: installing ${missing[*]}"
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-test-tools: no apt-get here; install ${missing[*]} (Redis >= $REDIS_MIN_MAJOR) by hand" >&2
    exit 1
  fi
  sudo=()
  if [ "$(id -u)" -ne 0 ]; then sudo=(sudo); fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Everything is there now, and new enough: the cluster tests need Redis >= 7 (`cluster-port`), in the
# server and in redis-cli (`--cluster create` against it).
major() { sed -E 's/.*(v=|redis-cli )([0-9]+)\..*/\2/'; }
server_major=$(redis-server --version | major)
cli_major=$(redis-cli --version | major)
for tool in "redis-server:$server_major" "redis-cli:$cli_major"; do
  if [ "${tool#*:}" -lt "$REDIS_MIN_MAJOR" ]; then
    echo "install-test-tools: ${tool%%:*} ${tool#*:}.x found; the tests need Redis >= $REDIS_MIN_MAJOR" \
      "(Debian 12 ships 7.0; older releases: packages.redis.io)" >&2
    exit 1
  fi
done
for binary in /usr/sbin/nginx /usr/bin/chromium; do
  [ -x "$binary" ] || { echo "install-test-tools: $binary is still missing" >&2; exit 1; }
done
command -v openssl >/dev/null 2>&1 || { echo "install-test-tools: openssl is still missing" >&2; exit 1; }

echo "install-test-tools: $(redis-server --version | cut -d' ' -f1-3), $(redis-cli --version)," \
  "$(openssl version | cut -d' ' -f1-2), $(/usr/sbin/nginx -v 2>&1 | cut -d' ' -f3)," \
  "$(/usr/bin/chromium --version 2>/dev/null | head -1)"
