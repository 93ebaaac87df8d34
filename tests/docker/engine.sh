#!/usr/bin/env bash
# A private Docker engine for the end-to-end tests (test infrastructure only; nothing in the product
# calls this).
#
#   tests/docker/engine.sh run -- CMD ARGS...   start an engine, run CMD with DOCKER_HOST set, stop it
#                                               (also when CMD fails or is interrupted); CMD's status
#   tests/docker/engine.sh start                start and print `export DOCKER_HOST=...`
#   tests/docker/engine.sh stop                 stop it: no daemon, no mount left behind
#
# What it does: installs Debian's docker.io and mmdebstrap with apt-get when they are missing (as
# root), starts dockerd on a socket of its own with sandbox-friendly flags (no bridge, no iptables:
# builds and containers use --network host), and makes the local base image the rendered
# Dockerfiles start from ($BASE_IMAGE, Debian's python3 with this machine's CA certificates), since
# no image registry may be reachable. The tests tag that image to each `FROM python:<ver>[-slim]`.
#
# Environment:
#   MODELDEPLOY_DOCKER_DIR   engine state (default: .cache/docker-engine in the repository; with CI=true
#                            a fresh temporary folder, removed by `stop`)
#   MODELDEPLOY_DOCKER_SKIP  set to a reason to start nothing (the engine tests then skip with it)
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
BASE_IMAGE="${MODELDEPLOY_TEST_BASE_IMAGE:-modeldeploy-test/python:bookworm}"
BASE_CACHE="$REPO/.cache/docker-base/python-bookworm.tar"
STATE_FILE="$REPO/.cache/docker-engine.dir"

log() { echo "engine: $*" >&2; }

engine_dir() {
  if [[ -n "${MODELDEPLOY_DOCKER_DIR:-}" ]]; then
    echo "$MODELDEPLOY_DOCKER_DIR"
  elif [[ "${CI:-}" == "true" ]]; then
    mktemp -d "${TMPDIR:-/tmp}/modeldeploy-docker.XXXXXX"
  else
    echo "$REPO/.cache/docker-engine"
  fi
}

ensure_packages() {
  local missing=()
  command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
  command -v mmdebstrap >/dev/null 2>&1 || missing+=(mmdebstrap)
  [[ ${#missing[@]} -eq 0 ]] && return 0
  if [[ $(id -u) -ne 0 ]]; then
    log "missing ${missing[*]} and not root: cannot install them"
    return 1
  fi
  log "installing ${missing[*]} with apt-get"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

docker_cli() {
  # Debian's docker.io ships the client in /usr/bin; any docker client on PATH will do.
  command -v docker || echo /usr/bin/docker
}

start_daemon() {
  local d="$1"
  mkdir -p "$d/data" "$d/exec"
  if [[ -f "$d/dockerd.pid" ]] && kill -0 "$(cat "$d/dockerd.pid")" 2>/dev/null; then
    log "an engine already runs in $d (pid $(cat "$d/dockerd.pid"))"
    return 0
  fi
  rm -f "$d/dockerd.pid" "$d/docker.sock"
  dockerd --data-root "$d/data" --exec-root "$d/exec" --host "unix://$d/docker.sock" \
    --pidfile "$d/dockerd.pid" --iptables=false --ip-forward=false --ip-masq=false \
    --bridge=none --storage-driver=overlay2 >"$d/dockerd.log" 2>&1 &
  local i
  for i in $(seq 1 100); do
    if DOCKER_HOST="unix://$d/docker.sock" "$(docker_cli)" version >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.2
  done
  log "dockerd did not answer within 20 s; its log:"
  tail -20 "$d/dockerd.log" >&2 || true
  return 1
}

# Debian bookworm's python3 (3.11) made into an image shaped like the official python images:
# python/python3 also in /usr/local/bin, PATH and LANG set, pip allowed to install into it, and this
# machine's CA certificates and pip settings (test-only: the product never bakes them in).
make_base_image() {
  local docker; docker="$(docker_cli)"
  if "$docker" image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
    return 0
  fi
  if [[ "${CI:-}" != "true" && -f "$BASE_CACHE" ]]; then
    log "loading $BASE_IMAGE from $BASE_CACHE"
    "$docker" load -i "$BASE_CACHE" >&2 && return 0
  fi
  log "making $BASE_IMAGE with mmdebstrap (about 30 s)"
  local sources=/etc/apt/sources.list.d/debian.sources
  local mirror_args=(-)
  if [[ ! -f "$sources" ]]; then
    sources=/dev/null
    mirror_args=(http://deb.debian.org/debian)
  fi
  mmdebstrap --quiet --mode=root --variant=minbase \
    --include=python3,python3-venv,python3-pip,ca-certificates,python-is-python3 \
    --customize-hook='for f in /usr/local/share/ca-certificates/*.crt; do [ -f "$f" ] && cp "$f" "$1/usr/local/share/ca-certificates/"; done; chroot "$1" update-ca-certificates >/dev/null' \
    --customize-hook='ln -sf /usr/bin/python3 "$1/usr/local/bin/python3"; ln -sf /usr/bin/python3 "$1/usr/local/bin/python"; rm -f "$1"/usr/lib/python3*/EXTERNALLY-MANAGED' \
    --customize-hook='if [ -f /etc/pip.conf ]; then cp /etc/pip.conf "$1/etc/pip.conf"; fi' \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*' \
    bookworm - "${mirror_args[@]}" <"$sources" |
    "$docker" import \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'ENV LANG=C.UTF-8' \
      --change 'CMD ["python3"]' - "$BASE_IMAGE" >&2
  if [[ "${CI:-}" != "true" ]]; then
    mkdir -p "$(dirname "$BASE_CACHE")"
    "$docker" save -o "$BASE_CACHE" "$BASE_IMAGE" && log "cached $BASE_IMAGE in $BASE_CACHE"
  fi
}

stop_engine() {
  local d="$1"
  [[ -d "$d" ]] || return 0
  if [[ -S "$d/docker.sock" ]]; then
    # Containers first, so that their mounts go with them.
    local ids
    ids="$(DOCKER_HOST="unix://$d/docker.sock" "$(docker_cli)" ps -aq 2>/dev/null || true)"
    if [[ -n "$ids" ]]; then
      # shellcheck disable=SC2086
      DOCKER_HOST="unix://$d/docker.sock" "$(docker_cli)" rm -f $ids >/dev/null 2>&1 || true
    fi
  fi
  if [[ -f "$d/dockerd.pid" ]]; then
    local pid; pid="$(cat "$d/dockerd.pid")"
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      local i
      for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$d/dockerd.pid"
  fi
  # Whatever the daemon left mounted under its folders (netns, overlays), deepest first.
  local m
  while read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
  done < <(awk -v d="$d/" 'index($2, d) == 1 {print $2}' /proc/self/mounts | sort -r)
  if [[ "${CI:-}" == "true" || "$d" == "${TMPDIR:-/tmp}"/modeldeploy-docker.* ]]; then
    rm -rf "$d"
  fi
}

cmd_start() {
  if [[ -n "${MODELDEPLOY_DOCKER_SKIP:-}" ]]; then
    log "not starting an engine: $MODELDEPLOY_DOCKER_SKIP"
    return 1
  fi
  ensure_packages
  local d; d="$(engine_dir)"
  mkdir -p "$REPO/.cache"
  echo "$d" >"$STATE_FILE"
  start_daemon "$d"
  DOCKER_HOST="unix://$d/docker.sock" make_base_image
  echo "export DOCKER_HOST=unix://$d/docker.sock MODELDEPLOY_TEST_BASE_IMAGE=$BASE_IMAGE"
}

cmd_stop() {
  local d="${MODELDEPLOY_DOCKER_DIR:-}"
  if [[ -z "$d" && -f "$STATE_FILE" ]]; then d="$(cat "$STATE_FILE")"; fi
  [[ -n "$d" ]] || d="$REPO/.cache/docker-engine"
  stop_engine "$d"
  rm -f "$STATE_FILE"
}

cmd_run() {
  [[ "${1:-}" == "--" ]] && shift
  local d env_line reason=""
  mkdir -p "$REPO/.cache"
  d="$(engine_dir)"
  export MODELDEPLOY_DOCKER_DIR="$d"
  trap 'cmd_stop' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  if env_line="$(cmd_start 2>"$d.start.log")"; then
    eval "$env_line"
    export DOCKER_HOST MODELDEPLOY_TEST_BASE_IMAGE
    cat "$d.start.log" >&2
  else
    cat "$d.start.log" >&2
    reason="${MODELDEPLOY_DOCKER_SKIP:-no Docker engine could start: $(tail -1 "$d.start.log")}"
    export MODELDEPLOY_DOCKER_UNAVAILABLE="$reason"
    unset DOCKER_HOST
    log "running without an engine: $reason"
  fi
  rm -f "$d.start.log"
  local rc=0
  "$@" || rc=$?
  return "$rc"
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  run) shift; cmd_run "$@" ;;
  *) echo "usage: $0 start | stop | run -- CMD ARGS..." >&2; exit 2 ;;
esac
