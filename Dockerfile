# syntax=docker/dockerfile:1.7
# One image: the Swift service and the model it serves, fetched from the model store and verified.
#
#   pipeline/build-image s3://store/models/efficientnet-lite0/latest model-server:dev credentials.env
#
# resolves the store's newest release, then builds with it pinned (README, "Deploy"). By hand:
#
#   docker build --secret id=model-credentials,src=credentials.env \
#     --build-arg MODEL_MANIFEST=s3://store/models/efficientnet-lite0/latest \
#     --build-arg MODEL_SHA256=<its artifact sha256> -t model-server .
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
# The release: a store's NAME/latest pointer or a NAME/VERSION/model.json (s3://, an Azure Blob
# URL, https://), and the artifact digest it must have. The pin makes a rebuild reproducible (it
# fails if the store has moved on) and is part of this step's cache key, so a new release is
# never served from a stale cached layer. `model-fetch --manifest URI --resolve` prints both.
ARG MODEL_MANIFEST=""
ARG MODEL_SHA256=""
# The secret is an env file (AWS_*, AZURE_STORAGE_*; docker's --env-file format, one NAME=value
# per line, values taken literally: `export "$line"`), mounted for this one RUN only.
# hadolint ignore=SC2163
RUN --mount=type=secret,id=model-credentials,required=false \
    set -eu; \
    if [ -z "${MODEL_MANIFEST}" ] || [ -z "${MODEL_SHA256}" ]; then \
      echo "set --build-arg MODEL_MANIFEST=<store URI> and MODEL_SHA256=<artifact sha256> (pipeline/build-image does)" >&2; exit 2; \
    fi; \
    if [ -f /run/secrets/model-credentials ]; then \
      while IFS= read -r line || [ -n "$line" ]; do case "$line" in ''|'#'*) ;; *) export "$line" ;; esac; done < /run/secrets/model-credentials; \
    fi; \
    model-fetch --manifest "${MODEL_MANIFEST}" --expect-sha256 "${MODEL_SHA256}" --dest /models/model

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
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN mkdir -p /rootfs/usr/lib/x86_64-linux-gnu /rootfs/lib64 /rootfs/etc /rootfs/tmp \
 && chmod 1777 /rootfs/tmp \
 && ldd /rootfs/usr/local/bin/model-server | awk '$2 == "=>" {print $3}' | while read -r lib; do \
      cp -L "$lib" /rootfs/usr/lib/x86_64-linux-gnu/; \
      pkg=$( (dpkg -S "$lib" 2>/dev/null || dpkg -S "$(readlink -f "$lib")") | head -1 | cut -d: -f1); \
      mkdir -p "/rootfs/usr/share/doc/$pkg"; cp "/usr/share/doc/$pkg/copyright" "/rootfs/usr/share/doc/$pkg/"; \
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
ARG MODEL_SOURCE=""
LABEL org.opencontainers.image.title="swift-model-server" \
      org.opencontainers.image.description="An ONNX model behind HTTP: Flask-compatible /score, KServe V1, Open Inference Protocol V2" \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.licenses="Apache-2.0" \
      ai.model.name="${MODEL_NAME}" \
      ai.model.version="${MODEL_VERSION}" \
      ai.model.sha256="${MODEL_SHA256}" \
      ai.model.source="${MODEL_SOURCE}"
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
