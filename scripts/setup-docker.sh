#!/usr/bin/env bash
# Idempotently install and start a Docker engine that only uses link-local address pools,
# then build the local test images (no registry is reachable on this machine kind).
# Usage: scripts/setup-docker.sh            (safe to run again: skips what exists)
set -euo pipefail

log() { printf 'setup-docker: %s\n' "$*" >&2; }

STATE_DIR=${ECS_SIM_STATE_DIR:-/var/lib/ecs-sim}
mkdir -p "$STATE_DIR"

need_packages=()
command -v dockerd >/dev/null 2>&1 || need_packages+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || need_packages+=(debootstrap)
[ -x /bin/busybox ] || need_packages+=(busybox-static)
command -v iptables >/dev/null 2>&1 || need_packages+=(iptables)
# compose v1 from Debian: runs docker-compose.yml (ecs-sim serve next to an app stack)
command -v docker-compose >/dev/null 2>&1 || docker compose version >/dev/null 2>&1 || need_packages+=(docker-compose)
if ((${#need_packages[@]})); then
  log "installing ${need_packages[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need_packages[@]}" >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
  log "starting dockerd (link-local pools)"
  # Link-local pools: the default 172.17/16 bridge would sit in a private range this workplace forbids.
  nohup dockerd \
    --bip 169.254.100.1/24 \
    --default-address-pool base=169.254.0.0/17,size=24 \
    >"$STATE_DIR/dockerd.log" 2>&1 &
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 0.5
  done
  docker info >/dev/null 2>&1 || { log "dockerd did not come up; see $STATE_DIR/dockerd.log"; exit 1; }
fi

build_busybox() {
  local ctx="$STATE_DIR/busybox-ctx"
  rm -rf "$ctx"; mkdir -p "$ctx/bin"
  cp /bin/busybox "$ctx/bin/busybox"
  # --install -s makes every applet (sh, sleep, env, wget, ...) a symlink to busybox.
  cat >"$ctx/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY bin/busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
CMD ["/bin/sh"]
DOCKERFILE
  docker build -q -t ecs-sim/busybox:latest "$ctx" >/dev/null
  rm -rf "$ctx"
}

build_python() {
  local root="$STATE_DIR/python-rootfs"
  if [ ! -x "$root/usr/bin/python3" ]; then
    rm -rf "$root"
    log "debootstrap --variant=minbase bookworm (takes a few minutes)"
    debootstrap --variant=minbase --include=python3,python3-boto3,ca-certificates bookworm "$root" \
      >"$STATE_DIR/debootstrap.log" 2>&1 || { log "debootstrap failed; see $STATE_DIR/debootstrap.log"; exit 1; }
    chroot "$root" apt-get clean
    rm -rf "$root"/var/lib/apt/lists/*
  fi
  # Debian's boto3 predates AWS_ENDPOINT_URL support (1.28.57): add a current one from PyPI.
  local site="$root/usr/local/lib/python3.11/dist-packages"
  if [ ! -d "$site/boto3" ]; then
    log "installing current boto3 into the image"
    python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore --target "$site" boto3
  fi
  log "importing ecs-sim/python"
  tar -C "$root" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["/usr/bin/python3"]' --change "LABEL io.ecs-sim.image-version=$PYTHON_IMAGE_VERSION" \
    - ecs-sim/python:latest >/dev/null
}

docker image inspect ecs-sim/busybox:latest >/dev/null 2>&1 || { log "building ecs-sim/busybox"; build_busybox; }
PYTHON_IMAGE_VERSION=2
python_image_version=$(docker image inspect -f '{{index .Config.Labels "io.ecs-sim.image-version"}}' \
  ecs-sim/python:latest 2>/dev/null || true)
[ "$python_image_version" = "$PYTHON_IMAGE_VERSION" ] || build_python
log "ready: $(docker version --format '{{.Server.Version}}'), images ecs-sim/busybox ecs-sim/python"
