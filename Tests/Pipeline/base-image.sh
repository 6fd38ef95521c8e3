#!/usr/bin/env bash
# The base image the Dockerfile's Debian stages start from, made here since no image can be pulled:
# debootstrap bookworm (minbase) trimmed as the official debian:bookworm-slim is, imported into
# podman (vfs storage) as debian:bookworm-slim. Installs podman, runc and debootstrap when root.
set -euo pipefail
cd "$(dirname "$0")/../.."
work=$PWD/.cache/pipeline
podman=(podman --storage-driver vfs)
mkdir -p "$work"

if [ "$(id -u)" = 0 ]; then
  need=""
  for p in podman runc debootstrap; do command -v $p >/dev/null || need="$need $p"; done
  [ -z "$need" ] || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null; }
fi

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
echo "base image: debian:bookworm-slim, $(( $("${podman[@]}" image inspect debian:bookworm-slim --format '{{.Size}}') / 1000000 )) MB"

