# syntax=docker/dockerfile:1.7
# One image: the Swift service and the model it serves, fetched from the model store and verified.
#
#   pipeline/build-image s3://store/models/efficientnet-lite0/latest model-server:dev credentials.env
#
# resolves the store's newest release, then builds with it pinned (README, "Deploy"). By hand,
# with what `model-fetch --release URI --resolve` prints:
#
#   docker build --secret id=model-credentials,src=credentials.env \
#     --build-arg MODEL_RELEASE=s3://store/models/efficientnet-lite0/2/model.json \
#     --build-arg MODEL_MANIFEST_SHA256=<its manifest_sha256> -t model-server .
#
# Stages: `build` compiles the binaries; `binaries` is just them (`--output` exports them);
# `fetcher` is model-fetch with libcurl; `model` fetches and verifies the release (credentials
# only as a BuildKit secret, never in a layer); `rootfs` gathers the shared libraries model-server
# loads; `runtime`, FROM scratch, is what ships.
# ---- build: static-stdlib release binaries in /out -------------------------------------------
FROM swift:6.3-bookworm AS build
# Debian package versions are not pinned: bookworm's security updates replace them in the
# archive, so a pinned version stops installing. The base image tag pins the release.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends libdnnl-dev libturbojpeg0-dev libspng-dev libcurl4-openssl-dev zlib1g-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependency resolution in its own layer: it is redone only when Package.swift changes.
COPY Package.swift ./
RUN swift package resolve
COPY Sources ./Sources
COPY Tests ./Tests
COPY pipeline/build-binaries pipeline/exports.map ./pipeline/
RUN pipeline/build-binaries /out

# ---- binaries: model-server and model-fetch, nothing else ------------------------------------
FROM scratch AS binaries
COPY --from=build /out/ /

# ---- fetcher: model-fetch and what it loads (pipeline/build-image runs it to resolve) ---------
FROM debian:bookworm-slim AS fetcher
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libcurl4 libxml2 zlib1g \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/model-fetch /usr/local/bin/model-fetch
ENTRYPOINT ["/usr/local/bin/model-fetch"]

# ---- model: the release, fetched and verified ------------------------------------------------
FROM fetcher AS model
# The release: a version's model.json in the store (s3://, an Azure Blob URL, https://), and its
# digest. The digest pins everything the version is (artifact, labels, preprocessing): a rebuild
# is reproducible and fails loudly if the store changed underneath it; and both are this step's
# cache key, so another release is never served from a cached layer.
ARG MODEL_RELEASE=""
ARG MODEL_MANIFEST_SHA256=""
# The secret is an env file (docker's --env-file format: one NAME=value per line, the value
# taken literally), mounted for this one RUN only. Only credential and store settings are
# taken from it (AWS_*, AZURE_STORAGE_*, MODEL_FETCH_*, S3_*): nothing in it can change the
# release, PATH or the loader. No line of it is ever printed.
# hadolint ignore=SC2163
RUN --mount=type=secret,id=model-credentials,required=false \
    set -eu; \
    if [ -z "${MODEL_RELEASE}" ] || [ -z "${MODEL_MANIFEST_SHA256}" ]; then \
      echo "set --build-arg MODEL_RELEASE=<a version's model.json URI> and MODEL_MANIFEST_SHA256 (pipeline/build-image does)" >&2; exit 2; \
    fi; \
    if [ -f /run/secrets/model-credentials ]; then \
      n=0; \
      while IFS= read -r line || [ -n "$line" ]; do \
        n=$((n + 1)); line=${line%"$(printf '\r')"}; \
        case "$line" in \
          ''|'#'*) ;; \
          AWS_[A-Z0-9_]*=*|AZURE_STORAGE_[A-Z0-9_]*=*|MODEL_FETCH_[A-Z0-9_]*=*|S3_[A-Z0-9_]*=*) export "$line" ;; \
          *) echo "model-credentials line $n: not AWS_*, AZURE_STORAGE_*, MODEL_FETCH_* or S3_* (NAME=value)" >&2; exit 2 ;; \
        esac; \
      done < /run/secrets/model-credentials; \
    fi; \
    model-fetch --release "${MODEL_RELEASE}" --expect-manifest-sha256 "${MODEL_MANIFEST_SHA256}" --dest /models/model

# ---- rootfs: exactly the shared libraries model-server loads, and a passwd entry --------------
FROM debian:bookworm-slim AS rootfs
# Runtime libraries only: oneDNN (with libgomp, libOpenCL), libjpeg-turbo, libspng, zlib.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends libdnnl2 libgomp1 libturbojpeg0 libspng0 zlib1g \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/model-server /rootfs/usr/local/bin/model-server
# The binary, what `ldd` lists (the loader at its own path, the rest where the loader looks
# without an ld.so.cache), each library's Debian copyright file, and a user. No shell, package
# manager or CA bundle: model-server calls out to nothing, and a shell is what an attacker with
# code execution would want first. The last line has the loader resolve the binary inside the
# result (trace mode: it lists what it loads and stops before main).
SHELL ["/bin/bash", "-e", "-o", "pipefail", "-c"]
RUN mkdir -p /rootfs/usr/lib/x86_64-linux-gnu /rootfs/lib64 /rootfs/etc /rootfs/tmp \
 && chmod 1777 /rootfs/tmp \
 && ldd /rootfs/usr/local/bin/model-server | awk '$2 == "=>" {print $3}' | while read -r lib; do \
      cp -L "$lib" /rootfs/usr/lib/x86_64-linux-gnu/ || exit 1; \
      pkg=$( (dpkg -S "$lib" 2>/dev/null || dpkg -S "$(readlink -f "$lib")") | head -1 | cut -d: -f1); \
      mkdir -p "/rootfs/usr/share/doc/$pkg" && cp "/usr/share/doc/$pkg/copyright" "/rootfs/usr/share/doc/$pkg/" || exit 1; \
    done \
 && cp -L /lib64/ld-linux-x86-64.so.2 /rootfs/lib64/ \
 && echo 'model:x:10001:10001:model-server:/nonexistent:/usr/sbin/nologin' > /rootfs/etc/passwd \
 && echo 'model:x:10001:' > /rootfs/etc/group \
 && LD_TRACE_LOADED_OBJECTS=1 chroot /rootfs /usr/local/bin/model-server > /tmp/loaded \
 && if grep 'not found' /tmp/loaded; then exit 1; fi

# ---- runtime: the service and the model, nothing else -----------------------------------------
FROM scratch AS runtime
# What the model stage fetched, for the labels (pipeline/build-image passes what it resolved).
ARG MODEL_NAME=""
ARG MODEL_VERSION=""
ARG MODEL_SHA256=""
ARG MODEL_RELEASE=""
ARG MODEL_MANIFEST_SHA256=""
LABEL org.opencontainers.image.title="swift-model-server" \
      org.opencontainers.image.description="An ONNX model behind HTTP: Flask-compatible /score, KServe V1, Open Inference Protocol V2" \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.licenses="Apache-2.0" \
      ai.model.name="${MODEL_NAME}" \
      ai.model.version="${MODEL_VERSION}" \
      ai.model.sha256="${MODEL_SHA256}" \
      ai.model.release="${MODEL_RELEASE}" \
      ai.model.manifest-sha256="${MODEL_MANIFEST_SHA256}"
COPY --from=rootfs /rootfs/ /
COPY --from=model --chown=0:0 /models /models
# OMP_NUM_THREADS unset: model-server sets it from the cgroup CPU quota (see README).
ENV MODEL_DIR=/models/model \
    HOST=0.0.0.0 \
    PORT=8080 \
    GRPC_PORT=8081
USER 10001:10001
# HTTP (REST, probes, metrics) and gRPC (Open Inference Protocol, grpc.health.v1).
EXPOSE 8080 8081
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 CMD ["/usr/local/bin/model-server", "probe"]
ENTRYPOINT ["/usr/local/bin/model-server"]
CMD ["serve"]
