# syntax=docker/dockerfile:1.7
# One image: the Swift service and the model it serves.
#
#   docker build --secret id=model-credentials,src=credentials.env \
#     --build-arg MODEL_MANIFEST=models/resnet/model.json -t model-server .
#
# Stages: `build` compiles the binaries; `model` fetches and verifies the artifact with model-fetch
# (credentials only as a BuildKit secret, never in a layer); `runtime` is what ships.
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
RUN swift build -c release --static-swift-stdlib --product model-server \
 && swift build -c release --static-swift-stdlib --product model-fetch \
 && mkdir -p /out \
 && install -s .build/release/model-server .build/release/model-fetch /out/

# ---- model: the artifact, fetched and verified -----------------------------------------------
FROM debian:bookworm-slim AS model
# A manifest whose artifact.source is s3://, an Azure Blob URL, https:// or file://.
ARG MODEL_MANIFEST=models/efficientnet-lite0/model.json
# Or a URI and digest directly (the manifest's folder still supplies model.json and labels).
ARG MODEL_URI=""
ARG MODEL_SHA256=""
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libcurl4 libxml2 zlib1g \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/model-fetch /usr/local/bin/model-fetch
COPY models /src/models
# The secret is an env file (AWS_*, AZURE_STORAGE_*), mounted for this one RUN only.
RUN --mount=type=secret,id=model-credentials,required=false \
    set -eu; \
    if [ -f /run/secrets/model-credentials ]; then set -a; . /run/secrets/model-credentials; set +a; fi; \
    dir="$(dirname "/src/${MODEL_MANIFEST}")"; \
    mkdir -p /models/model; \
    if [ -n "${MODEL_URI}" ]; then \
      model-fetch "${MODEL_URI}" --sha256 "${MODEL_SHA256}" --output /models/model/model.onnx; \
      cp "${dir}/model.json" "${dir}/labels.txt" /models/model/; \
    else \
      model-fetch --manifest "/src/${MODEL_MANIFEST}" --dest /models/model; \
    fi

# ---- runtime: the service and the model, nothing else -----------------------------------------
FROM debian:bookworm-slim AS runtime
ARG MODEL_NAME=efficientnet-lite0
ARG MODEL_VERSION=1
ARG MODEL_SHA256=8457d4aa76224f50b1124600d10c018ca042b8f2b6aa0b5e19eecb6e47eaf458
LABEL org.opencontainers.image.title="swift-model-server" \
      org.opencontainers.image.description="An ONNX model behind HTTP: Flask-compatible /score, KServe V1, Open Inference Protocol V2" \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.licenses="Apache-2.0" \
      ai.model.name="${MODEL_NAME}" \
      ai.model.version="${MODEL_VERSION}" \
      ai.model.sha256="${MODEL_SHA256}"
# Runtime libraries only: oneDNN (with libgomp), libjpeg-turbo, libspng, zlib. No libcurl, no compilers.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends libdnnl2 libgomp1 libturbojpeg0 libspng0 zlib1g \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin model
COPY --from=build --chown=root:root /out/model-server /usr/local/bin/model-server
COPY --from=model --chown=root:root /models /models
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
