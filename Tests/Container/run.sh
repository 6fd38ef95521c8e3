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
grpc_port=${CONTAINER_GRPC_PORT:-18481}
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
  # The mirror apt already uses (deb822 `URIs:` or one-line `deb` entries; comments ignored).
  mirror=$(grep -hE '^[[:space:]]*(URIs:|deb[[:space:]])' /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null \
    | grep -oE 'https?://[^ ]+/debian/?([[:space:]]|$)' | head -1 | tr -d '[:space:]' || true)
  rm -rf "$work/rootfs"
  echo "mirror: ${mirror:-http://deb.debian.org/debian}"
  debootstrap --variant=minbase bookworm "$work/rootfs" "${mirror:-http://deb.debian.org/debian}" >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log"; exit 1; }
  # Make it what debian:bookworm-slim is: no docs, man pages, locales or apt lists, and dpkg
  # told to skip them in later installs too.
  cat > "$work/rootfs/etc/dpkg/dpkg.cfg.d/docker-slim" <<'SLIM'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
SLIM
  # And, as the official image does, apt deletes downloaded packages and its caches after use.
  cat > "$work/rootfs/etc/apt/apt.conf.d/docker-clean" <<'CLEAN'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
CLEAN
  find "$work/rootfs/usr/share/doc" -type f ! -name copyright -delete
  rm -rf "$work/rootfs"/usr/share/{man,info,locale,lintian}/* "$work/rootfs"/var/lib/apt/lists/* "$work/rootfs"/var/cache/apt/*
  tar -C "$work/rootfs" -c . | "${podman[@]}" import - debian:bookworm-slim >/dev/null
  rm -rf "$work/rootfs"
fi

echo "== podman build (runtime stage of ./Dockerfile)"
"${podman[@]}" build --isolation chroot --format docker --target runtime \
  --build-context build="$work/build" --build-context model="$work/model" \
  -t "$image" -f Dockerfile . >"$work/build.log" 2>&1 || { tail -30 "$work/build.log"; exit 1; }
size=$("${podman[@]}" image inspect "$image" --format '{{.Size}}')
base=$("${podman[@]}" image inspect debian:bookworm-slim --format '{{.Size}}')
echo "image size: $((size / 1000000)) MB (base $((base / 1000000)) MB, model-server $(( $(stat -c %s "$work/build/out/model-server") / 1000000 )) MB, model $(( $(stat -c %s "$work/model/models/model/model.onnx") / 1000000 )) MB)"

echo "== run"
"${podman[@]}" rm -f model-server-test >/dev/null 2>&1 || true
"${podman[@]}" run -d --name model-server-test --cgroup-manager cgroupfs --runtime runc \
  --ulimit nofile=1024:1024 --ulimit nproc=4096:4096 --read-only -p 127.0.0.1:$port:8080 -p 127.0.0.1:$grpc_port:8081 "$image" >/dev/null 2>"$work/run.log"
cleanup() { "${podman[@]}" rm -f model-server-test >/dev/null 2>&1 || true; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; "${podman[@]}" logs model-server-test 2>&1 | tail -20; exit 1; }

for _ in $(seq 1 120); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "127.0.0.1:$port/v2/health/ready")" = 200 ] && break
  sleep 0.5
done
[ "$(curl -s "127.0.0.1:$port/")" = Healthy ] || fail "GET / is not Healthy"
[ "$(curl -s -o /dev/null -w '%{http_code}' "127.0.0.1:$port/v2/health/ready")" = 200 ] || fail "never ready"
"${podman[@]}" exec model-server-test /usr/local/bin/model-server probe || fail "model-server probe (the HEALTHCHECK command) failed"
uid=$("${podman[@]}" exec model-server-test cat /proc/1/status | awk '/^Uid:/ {print $2}')
[ "$uid" = 10001 ] || fail "runs as UID '$uid', not 10001"
top=$(curl -s -H 'Content-Type: image/jpeg' --data-binary @.cache/images/coffee.jpg "127.0.0.1:$port/v1/models/efficientnet-lite0:classify?top_k=1")
echo "$top" | grep -q '"index":967' || fail "coffee.jpg classified as $top"
# The gRPC port: health as Kubernetes' gRPC probe asks it, and a photo through Triton's client.
grpc_top=$(.venv/bin/python - "127.0.0.1:$grpc_port" <<'PY'
import sys, numpy as np, grpc, tritonclient.grpc as g
from grpc_health.v1 import health_pb2, health_pb2_grpc
assert health_pb2_grpc.HealthStub(grpc.insecure_channel(sys.argv[1])).Check(health_pb2.HealthCheckRequest()).status == health_pb2.HealthCheckResponse.SERVING
i = g.InferInput("input", [1], "BYTES"); i.set_data_from_numpy(np.array([open(".cache/images/coffee.jpg", "rb").read()], dtype=object))
print(g.InferenceServerClient(sys.argv[1]).infer("efficientnet-lite0", [i], outputs=[g.InferRequestedOutput("logits", class_count=1)]).as_numpy("logits")[0][0].decode())
PY
) || fail "gRPC health or inference failed"
echo "$grpc_top" | grep -q ':967:' || fail "gRPC classified coffee.jpg as $grpc_top"
"${podman[@]}" healthcheck run model-server-test >/dev/null 2>>"$work/run.log" || fail "the image's HEALTHCHECK does not pass"
health=healthy

start=$(date +%s)
"${podman[@]}" stop -t 20 model-server-test >/dev/null
code=$("${podman[@]}" inspect model-server-test --format '{{.State.ExitCode}}')
[ "$code" = 0 ] || fail "exit code $code after podman stop"
echo "container: uid $uid, ready, top-1 espresso over HTTP and gRPC, HEALTHCHECK $health, stopped cleanly in $(( $(date +%s) - start )) s, image $((size / 1000000)) MB"
