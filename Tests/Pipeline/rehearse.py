#!/usr/bin/env python3
"""`make pipeline`: the cloud pipeline (azure-pipelines.yml, .github/workflows/ci.yml), rehearsed here.

    .venv/bin/python Tests/Pipeline/rehearse.py

The same steps the cloud runs, with local stand-ins only where the cloud cannot be reached:
  1. binaries       pipeline/build-binaries (the cloud compiles them in the Dockerfile's build stage;
                    no Swift image can be pulled here, so they come from the host via --build-context)
  2. stores         moto's S3 server (authentication enforced) and the Azure Blob endpoint whose
                    signatures azure-storage-blob judges (Tests/Pipeline/stores.py); a publisher
                    identity that may write, a builder identity that may only read
  3. publish        pipeline/publish.py puts the demo model into both stores as version 1
  4. build          pipeline/build-image from each store's `latest`, the builder's credentials as
                    the build secret (podman build --secret): the Dockerfile's model stage runs
                    model-fetch against the store
  5. no secrets     no credential in any layer (of the image and of its model stage), in the
                    image's config or in `podman history`
  6. check          pipeline/check-image: non-root, read-only root, no shell, Healthy, ready, the
                    labelled version served, a photo classified right (HTTP and gRPC), graceful stop
  7. manifests      pipeline/render-manifests: every overlay rendered with the image's digest, validated
  8. new versions   version 2 published: the next build picks it up, and a build pinned to version
                    1's digest fails loudly; version 3, the same artifact with other labels: the
                    next build serves version 3 (the build cache is keyed on the whole release);
                    a tampered artifact in the store fails a fresh build
The last line says what was built. Needs root (podman), `make model test-data lint-venv`.
"""
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stores import start_stores  # noqa: E402

WORK = os.path.join(ROOT, ".cache", "pipeline")
DEMO = os.path.join(ROOT, "models", "efficientnet-lite0")
PODMAN = ["podman", "--storage-driver", "vfs"]
IMAGE = "localhost/swift-model-server"
# How the rehearsal runs podman here (as root, in a container without systemd or cgroup delegation).
ENGINE = {
    "CONTAINER": " ".join(PODMAN),
    "BUILD_FLAGS": f"--isolation chroot --format docker --build-context build={WORK}/build",
    "RUN_FLAGS": "--cgroup-manager cgroupfs --runtime runc --ulimit nofile=1024:1024 --ulimit nproc=4096:4096",
}


def step(title):
    print(f"\n== {title}", flush=True)


def run(cmd, env=None, check=True, log=None):
    """Runs `cmd` in ROOT with ENGINE and `env` added; output to the terminal, or to `log` (shown on failure)."""
    full_env = {**os.environ, **ENGINE, **(env or {})}
    if log is None:
        result = subprocess.run(cmd, cwd=ROOT, env=full_env)
        output = ""
    else:
        result = subprocess.run(cmd, cwd=ROOT, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        output = result.stdout
        with open(log, "w") as f:
            f.write(output)
    if check and result.returncode != 0:
        if output:
            print(output[-4000:])
        sys.exit(f"FAIL: {' '.join(cmd)} exited {result.returncode}")
    return result.returncode, output


def podman(*args):
    return subprocess.run(PODMAN + list(args), check=True, capture_output=True, text=True).stdout.strip()


def env_file(name, env):
    """A credentials file in docker's --env-file format, readable by us only."""
    path = os.path.join(WORK, "secrets", f"{name}.env")
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
        f.write("".join(f"{k}={v}\n" for k, v in env.items()))
    return path


def secrets_of(env):
    """The secret values in an identity's environment (keys, signatures), not endpoints or regions."""
    found = []
    for key, value in env.items():
        if key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            found.append(value)
        if key == "AZURE_STORAGE_CONNECTION_STRING":
            for part in value.split(";"):
                k, _, v = part.partition("=")
                if k == "AccountKey":
                    found.append(v)
                if k == "SharedAccessSignature":
                    found += [p[4:] for p in v.split("&") if p.startswith("sig=")]
    return [s for s in found if len(s) >= 8]


def image_files(image):
    """Every file of `image`, as (where, path, bytes): each layer's files (`where` = the layer),
    and the archive's own files (config, manifest: `where` = None)."""
    archive = os.path.join(WORK, "scan.tar")
    if os.path.exists(archive):
        os.remove(archive)
    podman("save", "--format", "docker-archive", "-o", archive, image)
    try:
        with tarfile.open(archive) as outer:
            for member in outer:
                if not member.isfile():
                    continue
                data = outer.extractfile(member).read()
                if not member.name.endswith(".tar"):
                    yield None, member.name, data
                    continue
                with tarfile.open(fileobj=io.BytesIO(data)) as layer:
                    for f in layer:
                        if f.isfile():
                            yield member.name, f.name, layer.extractfile(f).read()
    finally:
        os.remove(archive)


def scan_for_secrets(image, secrets, expect_leak=False):
    """Fails if any secret is in any layer of `image` (every file's bytes), its config or its history
    (with `expect_leak`, fails unless one is: the scan's own control)."""
    needles = sorted({form.encode() for s in secrets for form in encodings(s)})
    hits, layers = [], set()
    for where, path, data in image_files(image):
        if where:
            layers.add(where)
        hits += [f"{where}:{path}" if where else path for n in needles if n in data]
    history = podman("history", "--no-trunc", "--format", "{{.CreatedBy}} {{.Comment}}", image)
    inspect = podman("image", "inspect", image)
    hits += [where for where, text in (("history", history), ("inspect", inspect)) for n in needles if n.decode() in text]
    if expect_leak:
        if not hits:
            sys.exit(f"FAIL: the scan missed the credential planted in {image}")
        print(f"control: the scan finds a credential planted in {image} ({sorted(set(hits))[0]})")
        return
    if hits:
        sys.exit(f"FAIL: a credential is in {image}: {sorted(set(hits))}")
    print(f"no credential in {image}: {len(layers)} layers (every file), config and history scanned for {len(secrets)} secrets")


def encodings(secret):
    """The forms a secret could take in a file or a log: as is, JSON-escaped, percent-encoded and
    -decoded (SAS signatures travel encoded), and base64 of each."""
    import base64
    from urllib.parse import quote, unquote
    forms = {secret, secret.replace("/", "\\/"), quote(secret, safe=""), unquote(secret)}
    return forms | {base64.b64encode(f.encode()).decode() for f in forms}


def scan_logs(secrets):
    """Fails if a build or check log of this run holds a credential."""
    needles = {form for s in secrets for form in encodings(s)}
    logs = [os.path.join(WORK, f) for f in os.listdir(WORK) if f.endswith(".log")]
    hits = [path for path in logs for n in needles if n in open(path, errors="replace").read()]
    if hits:
        sys.exit(f"FAIL: a credential is in the logs {sorted(set(hits))}")
    print(f"no credential in the {len(logs)} build logs of this run")


def size_breakdown(image):
    """What the image's bytes are, by part (written to .cache/pipeline/image.json for docs/benchmarks.md)."""
    files = {path: len(data) for where, path, data in image_files(image) if where}
    parts = {"model-server (static Swift runtime, stripped)": 0, "oneDNN (libdnnl.so.2)": 0,
             "other shared libraries (glibc, libstdc++, libgomp, libOpenCL, libjpeg-turbo, libspng, zlib)": 0,
             "model artifact (model.onnx)": 0, "model.json, labels.txt": 0, "copyright files, passwd, group": 0}
    names = list(parts)
    for path, size in files.items():
        if path.endswith("bin/model-server"):
            parts[names[0]] += size
        elif "libdnnl" in path:
            parts[names[1]] += size
        elif "/lib" in path and ".so" in path:
            parts[names[2]] += size
        elif path.startswith("models/") and path.endswith(".onnx"):
            parts[names[3]] += size
        elif path.startswith("models/"):
            parts[names[4]] += size
        else:
            parts[names[5]] += size
    total = int(podman("image", "inspect", image, "--format", "{{.Size}}"))
    report = {"image": image, "size": total, "files": len(files), "parts": parts}
    with open(os.path.join(WORK, "image.json"), "w") as f:
        json.dump(report, f, indent=2)
    print(f"{image}: {total / 1e6:.1f} MB, {len(files)} files: " + ", ".join(f"{k.split(' (')[0]} {v / 1e6:.1f} MB" for k, v in parts.items()))


def labels(image):
    config = json.loads(podman("image", "inspect", image))[0]
    return config.get("Config", {}).get("Labels") or config.get("Labels") or {}


def build(store, image, credentials, expect_version, expect_sha, pin=None, no_cache=False):
    """pipeline/build-image, then the labels must name the release that resolved."""
    env = {"MODEL_SHA256": pin} if pin else {}
    if no_cache:
        env["BUILD_FLAGS"] = ENGINE["BUILD_FLAGS"] + " --no-cache"
    log = os.path.join(WORK, f"build-{image.split(':')[-1]}.log")
    code, output = run(["pipeline/build-image", f"{store}/efficientnet-lite0/latest", image, credentials], env=env, check=False, log=log)
    if expect_version is None:
        return code, output
    if code != 0:
        print(output[-4000:])
        sys.exit(f"FAIL: building {image} from {store} exited {code}")
    got = labels(image)
    if got.get("ai.model.version") != expect_version or got.get("ai.model.sha256") != expect_sha:
        sys.exit(f"FAIL: {image} is labelled {got.get('ai.model.version')} / {got.get('ai.model.sha256')}, expected {expect_version} / {expect_sha}")
    print(output.strip().splitlines()[-1])
    return code, output


def make_version_2(folder):
    """The demo model with a changed doc_string: the same network, another artifact (another digest)."""
    import onnx
    os.makedirs(folder, exist_ok=True)
    model = onnx.load(os.path.join(DEMO, "model.onnx"))
    model.doc_string = "efficientnet-lite0, republished as version 2 by the pipeline rehearsal"
    onnx.save(model, os.path.join(folder, "model.onnx"))
    for name in ("model.json", "labels.txt"):
        shutil.copy(os.path.join(DEMO, name), folder)
    return folder


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main():
    started = time.time()
    os.makedirs(WORK, exist_ok=True)
    step("1. binaries (pipeline/build-binaries) and the base image")
    run(["pipeline/build-binaries", os.path.join(WORK, "build", "out")])
    run(["bash", "Tests/Pipeline/base-image.sh"])

    step("2. stores: S3 (moto, authentication enforced) and Azure Blob (signatures judged by azure-storage-blob)")
    info, stop = start_stores()
    try:
        creds = {s: {who: env_file(f"{s}-{who}", info[s][who]) for who in ("publisher", "builder")} for s in ("s3", "azure")}
        secrets = secrets_of(info["s3"]["builder"]) + secrets_of(info["azure"]["builder"])
        secrets += secrets_of(info["s3"]["publisher"]) + secrets_of(info["azure"]["publisher"])
        print(f"S3 {info['s3']['store']} at {info['s3']['endpoint']}; Azure {info['azure']['store']} at {info['azure']['endpoint']}")

        step("3. publish the demo model as version 1 (pipeline/publish.py, publisher identity)")
        for s in ("s3", "azure"):
            run([".venv/bin/python", "pipeline/publish.py", "--store", info[s]["store"], "--model-dir", DEMO, "--version", "1"],
                env=info[s]["publisher"])
        v1 = sha256(os.path.join(DEMO, "model.onnx"))

        step("4. build the image from each store's latest (pipeline/build-image, builder identity as the build secret)")
        s3_image, azure_image = f"{IMAGE}:s3-v1", f"{IMAGE}:azure-v1"
        build(info["s3"]["store"], s3_image, creds["s3"]["builder"], "1", v1)
        build(info["azure"]["store"], azure_image, creds["azure"]["builder"], "1", v1)

        step("5. no credential in any layer, config or history")
        # First the control: an image with one planted, which the scan must find.
        control = os.path.join(WORK, "leak")
        os.makedirs(control, exist_ok=True)
        with open(os.path.join(control, "settings.txt"), "w") as f:
            f.write(f"key = {secrets[1]}\n")
        with open(os.path.join(control, "Containerfile"), "w") as f:
            f.write("FROM scratch\nCOPY settings.txt /etc/settings.txt\n")
        run(PODMAN + ["build", "--isolation", "chroot", "--format", "docker", "-t", "localhost/leak:control", control],
            log=os.path.join(WORK, "control.log"))
        shutil.rmtree(control)
        scan_for_secrets("localhost/leak:control", secrets, expect_leak=True)
        for image, s in ((s3_image, "s3"), (azure_image, "azure")):
            scan_for_secrets(image, secrets)
            # The model stage is where the secret was mounted: its layers must not hold it either.
            stage = f"localhost/model-stage:{s}"
            got = labels(image)
            run(PODMAN + ["build"] + ENGINE["BUILD_FLAGS"].split() + ["--secret", f"id=model-credentials,src={creds[s]['builder']}",
                "--target", "model", "--build-arg", f"MODEL_RELEASE={got['ai.model.release']}",
                "--build-arg", f"MODEL_MANIFEST_SHA256={got['ai.model.manifest-sha256']}", "-t", stage, "-f", "Dockerfile", "."],
                log=os.path.join(WORK, f"stage-{s}.log"))
            scan_for_secrets(stage, secrets)

        step("6. run the image (pipeline/check-image)")
        run(["pipeline/check-image", s3_image])
        run(["pipeline/check-image", azure_image])

        step("7. render and validate every overlay with the image's digest (pipeline/render-manifests)")
        digest = podman("image", "inspect", s3_image, "--format", "{{.Digest}}")
        run(["pipeline/render-manifests", f"{IMAGE}@{digest}"])

        step("8. new versions: the next build picks version 2 up, a stale pin fails, version 3 (new labels only) is served as itself, a tampered store fails")
        v2_dir = make_version_2(os.path.join(WORK, "v2"))
        v2 = sha256(os.path.join(v2_dir, "model.onnx"))
        run([".venv/bin/python", "pipeline/publish.py", "--store", info["s3"]["store"], "--model-dir", v2_dir, "--version", "2"],
            env=info["s3"]["publisher"])
        v2_image = f"{IMAGE}:s3-v2"
        build(info["s3"]["store"], v2_image, creds["s3"]["builder"], "2", v2)
        run(["pipeline/check-image", v2_image])

        code, output = build(info["s3"]["store"], f"{IMAGE}:pinned-v1", creds["s3"]["builder"], None, None, pin=v1)
        if code == 0 or "the store changed since the pin" not in output:
            sys.exit(f"FAIL: a build pinned to version 1 ({v1}) did not fail on a store at version 2: exit {code}\n{output[-2000:]}")
        print(f"a build pinned to version 1's digest fails (exit {code}): the store changed since the pin")

        # Version 3: version 2's artifact with other labels. Only the manifest differs, and the
        # image must still be version 3's (its model stage is not a cached copy of version 2's).
        v3_dir = os.path.join(WORK, "v3")
        shutil.copytree(v2_dir, v3_dir, dirs_exist_ok=True)
        lines = open(os.path.join(DEMO, "labels.txt")).read().split("\n")
        lines[967] = "n07920052 espresso (relabelled in version 3)"
        open(os.path.join(v3_dir, "labels.txt"), "w").write("\n".join(lines))
        run([".venv/bin/python", "pipeline/publish.py", "--store", info["s3"]["store"], "--model-dir", v3_dir, "--version", "3"],
            env=info["s3"]["publisher"])
        v3_image = f"{IMAGE}:s3-v3"
        build(info["s3"]["store"], v3_image, creds["s3"]["builder"], "3", v2)
        _, output = run(["pipeline/check-image", v3_image], log=os.path.join(WORK, "check-v3.log"))
        print(output.strip().splitlines()[-1])
        if "relabelled in version 3" not in output:
            sys.exit(f"FAIL: the version 3 image does not serve version 3's labels:\n{output[-2000:]}")
        print("version 3 (version 2's artifact, new labels) is served with its own labels: the build cache is keyed on the whole release")

        import boto3
        s3 = boto3.client("s3", endpoint_url=info["s3"]["endpoint"], region_name="us-east-1",
                          aws_access_key_id=info["s3"]["publisher"]["AWS_ACCESS_KEY_ID"],
                          aws_secret_access_key=info["s3"]["publisher"]["AWS_SECRET_ACCESS_KEY"])
        # Someone with write access swaps version 2's artifact for other bytes (here version 1's).
        s3.put_object(Bucket=info["s3"]["bucket"], Key="models/efficientnet-lite0/3/model.onnx",
                      Body=open(os.path.join(DEMO, "model.onnx"), "rb").read())
        tampered = f"{IMAGE}:tampered"
        code, output = build(info["s3"]["store"], tampered, creds["s3"]["builder"], None, None, no_cache=True)
        exists = subprocess.run(PODMAN + ["image", "exists", tampered]).returncode == 0
        if code == 0 or "checksum mismatch" not in output or exists:
            sys.exit(f"FAIL: a tampered artifact did not fail the build (exit {code}, image exists: {exists})\n{output[-2000:]}")
        print(f"a fresh build from the tampered store fails (exit {code}): "
              + next(line for line in output.splitlines() if "checksum mismatch" in line).strip())
        scan_logs(secrets)
    finally:
        stop()

    size_breakdown(v3_image)
    size = int(podman("image", "inspect", v3_image, "--format", "{{.Size}}"))
    print(f"\npipeline: built {v3_image} ({size / 1e6:.0f} MB, {time.time() - started:.0f} s): model efficientnet-lite0 version 3, "
          f"sha256 {v2}, manifest sha256 {labels(v3_image)['ai.model.manifest-sha256']}")


if __name__ == "__main__":
    main()
