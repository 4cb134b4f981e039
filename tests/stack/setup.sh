#!/usr/bin/env bash
# Set-up for `npm test` and `npm run demo` (both run this first), and for CI (.ci/run).
#
# Makes sure this machine has what the tests and the demo need: docker.io, debootstrap,
# openssl, iptables, cron, age, the Compose v2 plugin, a running dockerd, and node_modules
# matching package-lock.json. Whatever is present is only checked (command -v, docker info,
# a lockfile comparison), so a second run is a quick no-op. What is missing is installed when
# running as root; otherwise this stops at once with the one command that would install it.
# If Docker cannot start, this fails loudly: nothing that needs it is ever skipped.
#
#   bash tests/stack/setup.sh            everything
#   bash tests/stack/setup.sh --system   system part only (packages, Compose, dockerd), no npm ci
#
# SETUP_ASSUME_NONROOT=1 makes a root run behave as a non-root one (for testing this script).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
log() { printf '[setup] %s\n' "$*" >&2; }
export DEBIAN_FRONTEND=noninteractive

system_only=false
case "${1:-}" in
  "") ;;
  --system) system_only=true ;;
  *) log "usage: bash tests/stack/setup.sh [--system]"; exit 2 ;;
esac

# A non-root user's PATH usually lacks the sbin directories, where dockerd, debootstrap and
# iptables live: look there too, so that an installed tool is never reported missing.
for d in /usr/local/sbin /usr/sbin /sbin; do
  case ":$PATH:" in *":$d:"*) ;; *) PATH="$PATH:$d" ;; esac
done
export PATH

root=false
if [ "$(id -u)" = 0 ] && [ "${SETUP_ASSUME_NONROOT:-}" != 1 ]; then root=true; fi

# Not root and something is missing: print the one command that fixes it, and stop.
refuse() { # what is missing
  local as_root="bash $PWD/tests/stack/setup.sh --system"
  if command -v sudo >/dev/null; then as_root="sudo $as_root"; else as_root="su -c '$as_root'"; fi
  log "missing $1 (not root); run: $as_root"
  exit 1
}

# --- Debian packages -----------------------------------------------------------------
need=()
command -v dockerd >/dev/null || need+=(docker.io)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v openssl >/dev/null || need+=(openssl)
command -v iptables >/dev/null || need+=(iptables)
command -v crontab >/dev/null || need+=(cron)
command -v age >/dev/null || need+=(age)   # backup encryption (the real tool, in unit and e2e tests)
[ -e /etc/ssl/certs/ca-certificates.crt ] || need+=(ca-certificates)

# Compose v2: `docker compose` (checked without a daemon; needs the docker CLI).
compose=true
docker compose version >/dev/null 2>&1 || compose=false

if ! $root; then
  missing=("${need[@]}")
  $compose || missing+=("the Compose v2 plugin (docker compose)")
  [ ${#missing[@]} -eq 0 ] || refuse "${missing[*]}"
fi

if [ ${#need[@]} -gt 0 ]; then
  command -v apt-get >/dev/null || { log "FATAL: missing ${need[*]} and there is no apt-get to install them"; exit 1; }
  log "installing ${need[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" ca-certificates >/dev/null
  docker compose version >/dev/null 2>&1 || compose=false
fi

# Bookworm only has Compose v1; trixie's docker-compose package carries a static v2 binary
# that runs here as the `docker compose` CLI plugin.
if ! $compose; then
  log "installing the Compose v2 plugin from Debian trixie's docker-compose package"
  work=$(mktemp -d)
  printf 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main\n' > "$work/sources.list"
  mkdir -p "$work/lists/partial" "$work/archives/partial"
  opts=(-o "Dir::Etc::SourceList=$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
        -o "Dir::State::Lists=$work/lists" -o "Dir::Cache::Archives=$work/archives" -o APT::Get::List-Cleanup=0)
  apt-get "${opts[@]}" update -qq
  (cd "$work" && apt-get "${opts[@]}" download docker-compose 2>/dev/null)
  dpkg-deb -x "$work"/docker-compose_*.deb "$work/x"
  install -D -m 0755 "$work/x/usr/libexec/docker/cli-plugins/docker-compose" /usr/local/lib/docker/cli-plugins/docker-compose
  rm -rf "$work"
  docker compose version >&2
fi

# --- dockerd ---------------------------------------------------------------------------
# A session's processes may have been ended; their pid files may be left behind, and a pid may
# now be a zombie or another program. Only a live process of that name counts.
alive_as() { # pidfile name
  local pid state
  pid=$(cat "$1" 2>/dev/null) || return 1
  [ -r "/proc/$pid/stat" ] || return 1
  state=$(sed 's/^.*) \(.\).*/\1/' "/proc/$pid/stat")
  [ "$state" != Z ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ]
}
dockerd_log=/tmp/claw-dockerd.log
if ! docker info >/dev/null 2>&1; then
  if ! $root; then
    sock=/var/run/docker.sock
    if [ -S "$sock" ] && { [ ! -r "$sock" ] || [ ! -w "$sock" ]; }; then
      log "cannot use $sock as $(id -un); run: sudo usermod -aG docker $(id -un)  (then log in again)"
      exit 1
    fi
    refuse "a running Docker engine (docker info fails)"
  fi
  for pf in /var/run/docker.pid:dockerd /var/run/docker/containerd/containerd.pid:containerd /run/containerd/containerd.pid:containerd; do
    file=${pf%%:*}; name=${pf##*:}
    if [ -f "$file" ] && ! alive_as "$file" "$name"; then
      log "removing stale $file"
      rm -f "$file"
    fi
  done
  if alive_as /var/run/docker.pid dockerd; then
    log "dockerd is running but not answering yet; waiting for it"
  else
    log "starting dockerd (log: $dockerd_log)"
    # Its own session: a Ctrl-C in the terminal running `npm test` must not stop it.
    if command -v setsid >/dev/null; then
      setsid nohup dockerd >"$dockerd_log" 2>&1 </dev/null &
    else
      nohup dockerd >"$dockerd_log" 2>&1 </dev/null &
    fi
  fi
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 1
  done
  if ! docker info >/dev/null 2>&1; then
    log "FATAL: Docker cannot start; the end-to-end suite and the demo cannot run. dockerd log:"
    tail -n 30 "$dockerd_log" >&2 || true
    exit 1
  fi
fi

# --- Node dependencies -----------------------------------------------------------------
# `npm run demo` / `npm test` start this script with .npmrc's node-options in NODE_OPTIONS
# (--import=tsx, for the scripts). Node itself would then refuse to start before tsx is
# installed, npm ci included: nothing here inherits it, and npm ci is told to pass none to
# the install scripts it runs.
# Only that one option is dropped: anything else the user set (e.g. --use-openssl-ca) stays.
if [ -n "${NODE_OPTIONS:-}" ]; then
  kept=()
  for o in $NODE_OPTIONS; do [ "$o" = --import=tsx ] || kept+=("$o"); done
  if [ ${#kept[@]} -gt 0 ]; then export NODE_OPTIONS="${kept[*]}"; else unset NODE_OPTIONS; fi
fi
# npm ci writes node_modules/.package-lock.json: the packages it installed. Up to date when it
# holds every package of package-lock.json at the same version and source (optional ones, e.g.
# other platforms' binaries, may be absent) and nothing else.
deps=up-to-date
if ! $system_only; then
  if ! node -e '
    const { readFileSync, existsSync } = require("node:fs");
    const read = (f) => JSON.parse(readFileSync(f, "utf8")).packages ?? {};
    const want = read("package-lock.json");
    const have = read("node_modules/.package-lock.json");
    const same = (a, b) => a.version === b.version && a.integrity === b.integrity && a.resolved === b.resolved;
    for (const [k, v] of Object.entries(want)) {
      if (k === "") continue;
      const h = have[k];
      if (h ? !same(h, v) : !v.optional) process.exit(1);
    }
    for (const k of Object.keys(have)) if (!(k in want) || !existsSync(k)) process.exit(1);
  ' 2>/dev/null; then
    log "node_modules is missing or differs from package-lock.json: npm ci"
    npm ci --no-audit --no-fund --node-options=
    deps=installed
  fi
fi

log "ready: Docker $(docker info --format '{{.ServerVersion}}'), Compose $(docker compose version --short 2>/dev/null || echo '?'), node_modules $($system_only && echo 'not checked (--system)' || echo "$deps")"
