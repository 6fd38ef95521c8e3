# The two commands: `make run` (set up, build, serve the demo model on :8080) and `make test`.
SHELL := /bin/bash
# Every recipe fails on the first failing command, including one on the left of a pipe
# (`swift build | tail -1` must not go on to test a stale binary).
.SHELLFLAGS := -e -o pipefail -c
.DEFAULT_GOAL := help

APT_PACKAGES := libdnnl-dev libturbojpeg0-dev libspng-dev libcurl4-openssl-dev zlib1g-dev python3-venv haproxy wrk
VENV := .venv
PY := $(VENV)/bin/python
MODEL_DIR := models/efficientnet-lite0
INT8_DIR := models/efficientnet-lite0-int8
PORT ?= 8080

.PHONY: help setup apt venv model check-model test-data build release check test run conformance-report proto grpc-proto bench-engine clean lint-venv validate pipeline publish gate reliability-test fuzz bench-smoke

help: ## this list
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-19s %s\n", $$1, $$2}'

setup: apt venv ## install the Debian packages (as root) and the Python tools in .venv/

# System libraries: installed when root, otherwise the exact command is printed.
apt:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing: $$missing"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "missing system packages; run:"; echo "  sudo apt-get install -y $$missing"; exit 1; \
	  fi; \
	fi

# Python tools (model export and test references only; nothing Python runs at serving time).
venv: $(VENV)/.installed
$(VENV)/.installed: models/requirements.txt models/requirements-nodeps.txt Tests/Fixtures/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check --no-deps -r models/requirements-nodeps.txt
	$(VENV)/bin/pip install -q --disable-pip-version-check -r models/requirements.txt -r Tests/Fixtures/requirements.txt
	touch $@

# The demo models, built reproducibly (fp32 exported, int8 quantized from it); each SHA-256 must
# equal its manifest's.
CHECK_SHA = want=$$($(PY) -c "import json,sys;print(json.load(open(sys.argv[1]))['artifact']['sha256'])" $(dir $@)model.json); \
	got=$$(sha256sum $@ | cut -d' ' -f1); \
	if [ "$$want" != "$$got" ]; then echo "SHA-256 mismatch for $@: manifest $$want, built $$got"; rm -f $@; exit 1; fi; \
	echo "$@ sha256 $$got matches the manifest"
model: $(MODEL_DIR)/model.onnx $(INT8_DIR)/model.onnx ## build the demo models (fp32, and int8 from it) reproducibly and check their SHA-256s
$(MODEL_DIR)/model.onnx: $(MODEL_DIR)/export.py $(VENV)/.installed
	$(PY) $(MODEL_DIR)/export.py --output $@
	@$(CHECK_SHA)
$(INT8_DIR)/model.onnx: $(INT8_DIR)/quantize.py $(INT8_DIR)/calibration.json $(MODEL_DIR)/model.onnx
	$(PY) $(INT8_DIR)/quantize.py --output $@ 2>&1 | grep -v "^WARNING:root:Please consider"
	@$(CHECK_SHA)

check-model: model ## the demo model against onnxruntime and Pillow on real photos
	$(PY) $(MODEL_DIR)/check_model.py

# Test fixtures (git-ignored, cached under .cache/).
test-data: model ## the test fixtures under .cache/ (ONNX node tests, reference models, photos, hostile images)
	$(PY) -W ignore Tests/Fixtures/onnx_conformance.py .cache/onnx-tests
	$(PY) Tests/Fixtures/reference_models.py .cache/reference-models --demo $(MODEL_DIR) --demo-int8 $(INT8_DIR) 2>/dev/null
	$(PY) Tests/Fixtures/images.py .cache/images $(MODEL_DIR)
	$(PY) Tests/Fixtures/hostile_images.py .cache/images/hostile .cache/images/coffee.jpg
	$(PY) Tests/Fixtures/gate_views.py .cache/images/gate

build: apt ## debug build of everything (what `swift test` uses)
	swift build

release: apt ## optimized build (.build/release/model-server)
	swift build -c release

# The slow suites (schemathesis, the real binary's signals, Python references) are left to `make test`.
CHECK_SKIP := schemathesis|Schemathesis|SIGTERM|gracefulShutdown|drain|noSecretsInLogs|refusesToStart|walk|matchesOnnxRuntime|Conformance
check: setup model test-data ## the fast loop: debug build and the unit and in-process tests (minutes once set up)
	swift build --build-tests
	swift test --skip-build --skip "$(CHECK_SKIP)"

# Linters for the manifests, the Dockerfile and the pipelines (their own venv: checkov is large).
LINT_VENV := .venv-lint
lint-venv: $(LINT_VENV)/.installed
$(LINT_VENV)/.installed: k8s/requirements.txt
	python3 -m venv $(LINT_VENV)
	$(LINT_VENV)/bin/pip install -q --disable-pip-version-check -r k8s/requirements.txt
	touch $@

validate: lint-venv ## lint the Kubernetes manifests, the Dockerfile and the pipelines
	bash k8s/validate.sh

# The accuracy gate on the engine that serves: the int8 demo model against fp32 on 288 photos the
# calibration never saw (top-1 agreement >= 0.85, top-5 overlap >= 0.80, the four named photos keep
# their class); then its control, a per-tensor quantized model, which must fail it.
GATE_EXPECT := --expect coffee-0.jpg=967 --expect camera-0.jpg=872 --expect rocket-0.jpg=657 --expect motorcycle_left-0.jpg=665
gate: model test-data ## the int8 accuracy gate (model-infer gate: int8 vs fp32 on 288 unseen photos), and its control
	pipeline/build-binaries
	.build-static/release/model-infer gate --reference $(MODEL_DIR) --candidate $(INT8_DIR) $(GATE_EXPECT) .cache/images/gate/*.jpg
	mkdir -p .cache/gate-control && cp $(MODEL_DIR)/labels.txt .cache/gate-control/
	$(PY) $(INT8_DIR)/quantize.py --per-tensor --output .cache/gate-control/model.onnx 2>&1 | grep -v "^WARNING:root:Please consider"
	@status=0; .build-static/release/model-infer gate --reference $(MODEL_DIR) --candidate .cache/gate-control $(GATE_EXPECT) .cache/images/gate/*.jpg || status=$$?; \
	if [ $$status != 3 ]; then echo "the gate's control ended with $$status, not 3 (the candidate falls short)"; exit 1; fi; \
	echo "control: the gate fails the per-tensor quantized model (exit 3), as it must"

# The cloud pipeline rehearsed: S3 (moto) and Azure Blob stores, publish, the real Dockerfile built
# with podman from each store's latest (credentials as a build secret), the image checked and run,
# the overlays rendered with its digest, a second version picked up, a stale pin and a tampered
# store refused (Tests/Pipeline/rehearse.py says how each maps to azure-pipelines.yml).
pipeline: model test-data lint-venv ## rehearse the cloud pipeline: stores, publish, podman build of the real Dockerfile from the store, run, manifests
	$(PY) Tests/Pipeline/rehearse.py

# A data scientist's step: a model folder (model.json, the artifact, labels) into a store as a new
# immutable version, then NAME/latest moved to it. Credentials from the environment (AWS_*,
# AZURE_STORAGE_*). Its own small venv: boto3 and azure-storage-blob only.
PUBLISH_VENV := .venv-publish
$(PUBLISH_VENV)/.installed: pipeline/requirements.txt
	python3 -m venv $(PUBLISH_VENV)
	$(PUBLISH_VENV)/bin/pip install -q --disable-pip-version-check -r pipeline/requirements.txt
	touch $@
publish: $(PUBLISH_VENV)/.installed ## publish MODEL_DIR to a store: make publish STORE=s3://bucket/models [VERSION=2] [MODEL_DIR=...]
	@[ -n "$(STORE)" ] || { echo "usage: make publish STORE=s3://BUCKET/PREFIX or https://ACCOUNT.blob.core.windows.net/CONTAINER/PREFIX [VERSION=...] [MODEL_DIR=...]"; exit 2; }
	@[ -f "$(MODEL_DIR)/$$(python3 -c "import json,sys;print(json.load(open(sys.argv[1]))['artifact']['file'])" "$(MODEL_DIR)/model.json")" ] || { echo "$(MODEL_DIR) has no artifact yet (the demo model: make model)"; exit 2; }
	$(PUBLISH_VENV)/bin/python pipeline/publish.py --store "$(STORE)" --model-dir "$(MODEL_DIR)" $(if $(VERSION),--version "$(VERSION)")

# haproxy in front of 3 replicas (rolling restart, SIGKILL, rejoin), then 4x overload; on the
# release binary the image ships (pipeline/build-binaries).
reliability-test: model test-data ## haproxy in front of 3 replicas (rolling restarts, SIGKILL), overload, the adversarial request classes (HTTP and gRPC)
	pipeline/build-binaries
	$(PY) Tests/Reliability/loadbalancer.py --binary .build-static/release/model-server --json .cache/reliability-lb.json
	$(PY) Tests/Reliability/loadbalancer.py --binary .build-static/release/model-server --haproxy-defaults --json .cache/reliability-lb-defaults.json
	$(PY) Tests/Reliability/overload.py --binary .build-static/release/model-server --json .cache/reliability-overload.json
	$(PY) Tests/Reliability/adversarial.py --binary .build-static/release/model-server --json .cache/reliability-adversarial.json

# libFuzzer on the image decoders, the HTTP prediction routes and gRPC ModelInfer (FUZZ_SECONDS each, default 60).
fuzz: model ## libFuzzer on the image decoders, HTTP prediction routes and gRPC ModelInfer (FUZZ_SECONDS each, default 60)
	Fuzz/run

# The benchmark harness, a few seconds per scenario (CI keeps it from rotting; numbers not judged).
bench-smoke: model test-data ## a few seconds of each benchmark, to keep them from rotting
	bench/run --smoke
	bench/protocols --smoke
	bench/int8 --smoke

test: setup check-model test-data validate pipeline gate reliability-test fuzz bench-smoke ## everything CI runs: setup, check-model, test-data, validate, pipeline, gate, reliability-test, fuzz, bench-smoke, then the whole Swift test suite
	swift build --build-tests
	swift test --skip-build

run: setup model release ## set up, build, and serve the demo model on :8080 (PORT=...)
	MODEL_DIR=$(MODEL_DIR) PORT=$(PORT) .build/release/model-server serve

# Regenerates docs/conformance.md from the last conformance run (`make test`).
conformance-report: ## regenerate docs/conformance.md from the last test run
	$(PY) Tests/Fixtures/conformance_report.py .cache docs/conformance.md

# Regenerates the committed ONNX Swift types (needs protobuf-compiler; builds protoc-gen-swift once).
PROTOC_GEN_SWIFT := .build-protoc/release/protoc-gen-swift
proto: venv ## regenerate the committed ONNX Swift types (needs protobuf-compiler)
	@command -v protoc >/dev/null || { echo "install protobuf-compiler"; exit 1; }
	[ -x $(PROTOC_GEN_SWIFT) ] || (rm -rf .build-protoc-src && git clone -q --branch 1.39.0 https://github.com/apple/swift-protobuf .build-protoc-src && \
	  swift build -c release --product protoc-gen-swift --package-path .build-protoc-src --scratch-path .build-protoc)
	protoc --plugin=protoc-gen-swift=$(PROTOC_GEN_SWIFT) --swift_out=Sources/ModelEngine/Proto --swift_opt=Visibility=Internal \
	  -I $$(dirname $$($(PY) -c "import onnx,os;print(os.path.join(os.path.dirname(onnx.__file__),'onnx.proto'))")) onnx.proto

# Regenerates the committed gRPC Swift code from the descriptors in kserve's and
# grpcio-health-checking's wheels (protoc from grpcio-tools; builds the Swift plugins once).
grpc-proto: venv ## regenerate the committed gRPC Swift code (Sources/ModelGRPC/Proto)
	$(PY) Sources/ModelGRPC/Proto/generate.py

bench-engine: setup model release ## the engine alone against onnxruntime
	bench/engine --markdown .cache/bench-engine.md

clean: ## remove builds, caches and virtual environments
	rm -rf .build .build-static .build-fuzz .build-protoc .build-protoc-src .build-protoc-grpc-src .cache $(VENV) $(LINT_VENV) .venv-flask $(MODEL_DIR)/model.onnx
