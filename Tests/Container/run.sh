#!/usr/bin/env bash
# Builds the real Dockerfile's runtime stage with podman and checks the running image.
#
# No image can be pulled here, so: the base image is made with debootstrap and `podman import`;
# the `build` and `model` stages are replaced (`--build-context`) by folders laid out like their
# outputs (/out/model-server, /models/model/...), filled from a host build. Then the container
# runs on 127.0.0.1 and must: run as UID 10001 with a read-only root filesystem, say Healthy,
# turn ready, classify a real JPEG as espresso, and exit 0 on `podman stop`.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
work=$root/.cache/container
image=swift-model-server:test
port=${CONTAINER_PORT:-18480}
podman=(podman --storage-driver vfs)

if [ "$(id -u)" = 0 ]; then
  need=""
  for p in podman runc debootstrap; do command -v $p >/dev/null || need="$need $p"; done
  [ -z "$need" ] || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null; }
fi

echo "== static release build"
swift build -c release --static-swift-stdlib --scratch-path .build-static --product model-server 2>&1 | tail -1
rm -rf "$work/build" "$work/model"
mkdir -p "$work/build/out" "$work/model/models/model"
install -s .build-static/release/model-server "$work/build/out/model-server"
cp models/efficientnet-lite0/{model.onnx,model.json,labels.txt} "$work/model/models/model/"

if ! "${podman[@]}" image exists debian:bookworm-slim; then
  echo "== base image: debootstrap bookworm (minbase)"
  mirror=$(grep -rhoE 'https?://[^ ]+/debian/?' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null | head -1 || true)
  rm -rf "$work/rootfs"
  debootstrap --variant=minbase bookworm "$work/rootfs" "${mirror:-http://deb.debian.org/debian}" >/dev/null
  tar -C "$work/rootfs" -c . | "${podman[@]}" import - debian:bookworm-slim >/dev/null
  rm -rf "$work/rootfs"
fi

echo "== podman build (runtime stage of ./Dockerfile)"
"${podman[@]}" build --isolation chroot --target runtime \
  --build-context build="$work/build" --build-context model="$work/model" \
  -t "$image" -f Dockerfile . >"$work/build.log" 2>&1 || { tail -30 "$work/build.log"; exit 1; }
size=$("${podman[@]}" image inspect "$image" --format '{{.Size}}')
echo "image size: $((size / 1000000)) MB"

echo "== run"
"${podman[@]}" rm -f model-server-test >/dev/null 2>&1 || true
"${podman[@]}" run -d --name model-server-test --cgroup-manager cgroupfs --runtime runc \
  --ulimit nofile=1024:1024 --ulimit nproc=4096:4096 --read-only -p 127.0.0.1:$port:8080 "$image" >/dev/null
cleanup() { "${podman[@]}" rm -f model-server-test >/dev/null 2>&1 || true; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; "${podman[@]}" logs model-server-test 2>&1 | tail -20; exit 1; }

for _ in $(seq 1 120); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "127.0.0.1:$port/v2/health/ready")" = 200 ] && break
  sleep 0.5
done
[ "$(curl -s "127.0.0.1:$port/")" = Healthy ] || fail "GET / is not Healthy"
[ "$(curl -s -o /dev/null -w '%{http_code}' "127.0.0.1:$port/v2/health/ready")" = 200 ] || fail "never ready"
uid=$("${podman[@]}" exec model-server-test /usr/local/bin/model-server probe && "${podman[@]}" top model-server-test uid | tail -1 | tr -d ' ')
[ "$uid" = 10001 ] || fail "runs as UID '$uid', not 10001"
top=$(curl -s -H 'Content-Type: image/jpeg' --data-binary @.cache/images/coffee.jpg "127.0.0.1:$port/v1/models/efficientnet-lite0:classify?top_k=1")
echo "$top" | grep -q '"index":967' || fail "coffee.jpg classified as $top"
health=$("${podman[@]}" healthcheck run model-server-test >/dev/null 2>&1 && echo healthy || echo unhealthy)

start=$(date +%s)
"${podman[@]}" stop -t 20 model-server-test >/dev/null
code=$("${podman[@]}" inspect model-server-test --format '{{.State.ExitCode}}')
[ "$code" = 0 ] || fail "exit code $code after podman stop"
echo "container: uid $uid, ready, top-1 espresso, HEALTHCHECK $health, stopped cleanly in $(( $(date +%s) - start )) s, image $((size / 1000000)) MB"
