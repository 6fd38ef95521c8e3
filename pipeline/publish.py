#!/usr/bin/env python3
"""Publish a model folder (model.json + artifact + labels) as an immutable version in S3 or Azure Blob.

    pipeline/publish.py --store s3://model-store/models --model-dir models/efficientnet-lite0
    pipeline/publish.py --store https://ACCOUNT.blob.core.windows.net/CONTAINER/models \\
        --model-dir models/efficientnet-lite0 --name efficientnet-lite0 --version 2 --no-latest
    pipeline/publish.py --store s3://model-store/models --name efficientnet-lite0 --promote 1   # roll back

Writes, under the store prefix, NAME/VERSION/ARTIFACT, NAME/VERSION/LABELS (if the manifest has
labels), NAME/VERSION/model.json (the folder's model.json with name, version, artifact.sha256 and
labels_sha256 and artifact.size set, artifact.source removed) and last NAME/latest, a JSON pointer
{"name", "version", "manifest_sha256"} (not with --no-latest). A version that has a model.json is
never written again. Credentials come from the environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
AWS_SESSION_TOKEN, AWS_REGION, AWS_ENDPOINT_URL for s3://; AZURE_STORAGE_CONNECTION_STRING (its
BlobEndpoint overrides the endpoint), AZURE_STORAGE_ACCOUNT + AZURE_STORAGE_KEY, or
AZURE_STORAGE_SAS_TOKEN for Azure. Exit status: 0 published, 2 usage or bad input (including a
version that exists already), 1 store error.
"""
import argparse
import hashlib
import json
import os
import re
import sys
from urllib.parse import urlparse

ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")  # NAME and VERSION, whole string
AZURE_HOSTS = (".blob.core.windows.net", ".blob.core.chinacloudapi.cn")  # as model-fetch accepts


class Refused(Exception):
    """Bad input, or a version that exists: exit 2."""


class StoreError(Exception):
    """The store failed or refused a request: exit 1."""


def redact(text):
    """`text` without any secret from the environment in it."""
    conn = os.environ.get("AZURE_STORAGE_CONNECTION_STRING", "")
    secrets = [os.environ.get(k) for k in ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AZURE_STORAGE_KEY", "AZURE_STORAGE_SAS_TOKEN")]
    secrets += re.findall(r"(?:AccountKey|SharedAccessSignature)=([^;]+)", conn)
    for s in filter(None, secrets):
        text = text.replace(s, "***")
    return re.sub(r"(sig=)[^&\s'\"]+", r"\1***", text)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def template_id(template, key):
    """model.json's name or version as a string ("" when missing; a number is accepted)."""
    value = template.get(key)
    return value if isinstance(value, str) else str(value) if isinstance(value, int) and not isinstance(value, bool) else ""


def check_id(value, what):
    if not value:
        raise Refused(f"model.json has no {what}: pass --{what}")
    if not isinstance(value, str) or not ID.fullmatch(value) or set(value) <= {"."}:
        raise Refused(f"{what} {value!r} must match ^[A-Za-z0-9][A-Za-z0-9._-]{{0,63}}$")
    return value


def plain_file(model_dir, value, what):
    """The path of `value`, a plain file name beside model.json."""
    if not isinstance(value, str) or not value or "/" in value or "\\" in value or value.startswith(".") or "\0" in value:
        raise Refused(f"model.json's {what} {value!r} must be a plain file name (no '/', not starting with '.')")
    if value == "model.json":
        raise Refused(f"model.json's {what} cannot be model.json (the published manifest's name)")
    path = os.path.join(model_dir, value)
    if not os.path.isfile(path):
        raise Refused(f"{what} file {path} does not exist")
    return path


def build_manifest(template, name, version, artifact_sha, artifact_size, labels_sha):
    """The published manifest: the template's keys in its order, name and version set (first if new)."""
    out = {} if "name" in template else {"name": name}
    if "version" not in template:
        out["version"] = version
    for key, value in template.items():
        if key == "artifact":
            value = {k: v for k, v in value.items() if k != "source"}
            value["sha256"] = artifact_sha
            value["size"] = artifact_size
        elif key == "labels_sha256":
            continue
        out[key] = {"name": name, "version": version}.get(key, value)
        if key == "labels" and value:
            out["labels_sha256"] = labels_sha
    return out


class S3Store:
    def __init__(self, bucket):
        import boto3
        from botocore.exceptions import BotoCoreError, ClientError
        self.bucket, self.errors, self.ClientError = bucket, (BotoCoreError, ClientError), ClientError
        self.client = boto3.client("s3", endpoint_url=os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or None,
                                   region_name=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or None)

    def fail(self, e, key):
        if isinstance(e, self.ClientError):
            err = e.response.get("Error", {})
            return StoreError(f"S3 {err.get('Code')} on s3://{self.bucket}/{key}: {err.get('Message') or e}")
        return StoreError(f"S3 {type(e).__name__} on s3://{self.bucket}/{key}: {e}")

    def exists(self, key):
        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
            return True
        except self.errors as e:
            if isinstance(e, self.ClientError) and e.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise self.fail(e, key)

    def get(self, key, limit):
        """The object's bytes (at most `limit`), or None if there is none."""
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read(limit + 1)
        except self.errors as e:
            if isinstance(e, self.ClientError) and e.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise self.fail(e, key)
        if len(body) > limit:
            raise Refused(f"s3://{self.bucket}/{key} is larger than {limit} bytes")
        return body

    def put(self, key, body, content_type, overwrite):
        """Uploads `body` (an open file or bytes); False if `overwrite` is off and `key` exists."""
        extra = {} if overwrite else {"IfNoneMatch": "*"}
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type, **extra)
            return True
        except self.errors as e:
            if isinstance(e, self.ClientError) and e.response.get("Error", {}).get("Code") in ("PreconditionFailed", "ConditionalRequestConflict"):
                return False
            raise self.fail(e, key)


class AzureStore:
    def __init__(self, host, container):
        from azure.core.exceptions import AzureError, ResourceExistsError
        from azure.storage.blob import ContainerClient
        self.errors, self.Exists, self.container = AzureError, ResourceExistsError, container
        conn = dict(p.split("=", 1) for p in os.environ.get("AZURE_STORAGE_CONNECTION_STRING", "").split(";") if "=" in p)
        env = os.environ
        if conn.get("AccountKey"):
            credential = {"account_name": conn.get("AccountName") or host.split(".")[0], "account_key": conn["AccountKey"]}
        elif conn.get("SharedAccessSignature"):
            credential = conn["SharedAccessSignature"].lstrip("?")
        elif env.get("AZURE_STORAGE_ACCOUNT") and env.get("AZURE_STORAGE_KEY"):
            credential = {"account_name": env["AZURE_STORAGE_ACCOUNT"], "account_key": env["AZURE_STORAGE_KEY"]}
        elif env.get("AZURE_STORAGE_SAS_TOKEN"):
            credential = env["AZURE_STORAGE_SAS_TOKEN"].lstrip("?")
        else:
            raise Refused("no Azure credentials: set AZURE_STORAGE_CONNECTION_STRING, AZURE_STORAGE_ACCOUNT + AZURE_STORAGE_KEY, or AZURE_STORAGE_SAS_TOKEN")
        endpoint = conn.get("BlobEndpoint", "").rstrip("/") or f"https://{host}"
        self.client = ContainerClient(endpoint, container, credential=credential)

    def fail(self, e, key):
        code = getattr(e, "error_code", None) or type(e).__name__
        status = f" (HTTP {e.status_code})" if getattr(e, "status_code", None) else ""
        message = (getattr(e, "message", None) or str(e) or "").strip().splitlines() or [""]
        return StoreError(f"Azure {getattr(code, 'value', code)}{status} on {self.container}/{key}: {message[0]}")

    def exists(self, key):
        try:
            return self.client.get_blob_client(key).exists()
        except self.errors as e:
            raise self.fail(e, key)

    def get(self, key, limit):
        """The blob's bytes (at most `limit`), or None if there is none."""
        from azure.core.exceptions import ResourceNotFoundError
        try:
            body = self.client.get_blob_client(key).download_blob(offset=0, length=limit + 1).readall()
        except ResourceNotFoundError:
            return None
        except self.errors as e:
            raise self.fail(e, key)
        if len(body) > limit:
            raise Refused(f"{self.container}/{key} is larger than {limit} bytes")
        return body

    def put(self, key, body, content_type, overwrite):
        from azure.storage.blob import ContentSettings
        try:
            self.client.upload_blob(key, body, overwrite=overwrite, content_settings=ContentSettings(content_type=content_type),
                                    validate_content=True)
            return True
        except self.Exists:
            return False
        except self.errors as e:
            raise self.fail(e, key)


def open_store(uri):
    """(store, key prefix ending in '/' or empty) for an s3:// or Azure store URI."""
    u = urlparse(uri)
    if u.query or u.fragment:
        raise Refused(f"--store takes no query or fragment (credentials come from the environment): {redact(uri)!r}")
    try:
        if u.scheme == "s3" and u.netloc:
            path, store = u.path, S3Store(u.netloc)
        elif u.scheme == "https" and u.hostname and u.hostname.endswith(AZURE_HOSTS) and u.path.strip("/"):
            container, _, path = u.path.lstrip("/").partition("/")
            store = AzureStore(u.hostname, container)
        else:
            raise Refused(f"--store must be s3://BUCKET/PREFIX or https://ACCOUNT.blob.core.windows.net/CONTAINER/PREFIX, not {redact(uri)!r}")
    except ValueError as e:  # a malformed endpoint, container name or credential in the environment
        raise Refused(f"cannot use {redact(uri)!r}: {redact(str(e))}")
    if any(p in (".", "..") for p in path.split("/")):
        raise Refused(f"--store prefix must not contain '.' or '..' segments: {redact(uri)!r}")
    prefix = "/".join(p for p in path.split("/") if p)
    return store, prefix + "/" if prefix else ""


def publish(args):
    model_dir = args.model_dir
    store, prefix = open_store(args.store)
    try:
        with open(os.path.join(model_dir, "model.json"), "rb") as f:
            template = json.load(f)
    except (OSError, ValueError) as e:
        raise Refused(f"cannot read {model_dir}/model.json: {e}")
    if not isinstance(template, dict) or not isinstance(template.get("artifact"), dict):
        raise Refused(f"{model_dir}/model.json has no \"artifact\" object")
    name = check_id(args.name or template_id(template, "name"), "name")
    version = check_id(args.version or template_id(template, "version"), "version")
    artifact = plain_file(model_dir, template["artifact"].get("file"), "artifact.file")
    labels = plain_file(model_dir, template["labels"], "labels") if template.get("labels") is not None else None
    if labels and os.path.basename(labels) == os.path.basename(artifact):
        raise Refused("model.json's artifact.file and labels name the same file")
    artifact_sha = sha256_file(artifact)
    manifest = build_manifest(template, name, version, artifact_sha, os.path.getsize(artifact), sha256_file(labels) if labels else None)
    manifest_bytes = (json.dumps(manifest, indent=2) + "\n").encode()
    base = f"{prefix}{name}/{version}/"
    where = f"{args.store.rstrip('/')}/{name}/{version}/"
    if store.exists(base + "model.json"):
        raise Refused(f"{name} version {version} exists already at {where}: versions are immutable, publish a new version")
    uploads = [(artifact, "application/octet-stream")] + ([(labels, "text/plain; charset=utf-8")] if labels else [])
    for path, content_type in uploads:
        with open(path, "rb") as f:
            if not store.put(base + os.path.basename(path), f, content_type, overwrite=False):
                raise Refused(f"{where}{os.path.basename(path)} exists already (another publish of this version, running or interrupted): publish a new version")
        print(f"uploaded {where}{os.path.basename(path)} ({os.path.getsize(path)} bytes)", flush=True)
    if not store.put(base + "model.json", manifest_bytes, "application/json", overwrite=False):
        raise Refused(f"{name} version {version} was published meanwhile at {where}")
    print(f"uploaded {where}model.json ({len(manifest_bytes)} bytes)", flush=True)
    moved = "latest unchanged (--no-latest)"
    if not args.no_latest:
        point_latest(store, prefix, args.store, name, version, manifest_bytes)
        moved = f"latest -> {version}"
    print(f"published {name} {version} ({os.path.basename(artifact)} sha256 {artifact_sha}) to {where}; {moved}")


def point_latest(store, prefix, uri, name, version, manifest_bytes):
    """Moves NAME/latest to `version`, whose model.json has `manifest_bytes`."""
    pointer = {"name": name, "version": version, "manifest_sha256": hashlib.sha256(manifest_bytes).hexdigest()}
    store.put(f"{prefix}{name}/latest", (json.dumps(pointer, indent=2) + "\n").encode(), "application/json", overwrite=True)
    print(f"uploaded {uri.rstrip('/')}/{name}/latest -> {version}", flush=True)


def promote(args):
    """Moves NAME/latest to a version already in the store (a rollback, or releasing a --no-latest version)."""
    store, prefix = open_store(args.store)
    name = check_id(args.name, "name")
    version = check_id(args.promote, "version")
    manifest_bytes = store.get(f"{prefix}{name}/{version}/model.json", 1 << 20)
    if manifest_bytes is None:
        raise Refused(f"{args.store.rstrip('/')}/{name}/{version}/model.json does not exist")
    try:
        manifest = json.loads(manifest_bytes)
    except ValueError as e:
        raise Refused(f"{name} {version}'s model.json is not JSON: {e}")
    if manifest.get("name") != name or manifest.get("version") != version:
        raise Refused(f"{name}/{version}/model.json names {manifest.get('name')!r} {manifest.get('version')!r}")
    point_latest(store, prefix, args.store, name, version, manifest_bytes)
    print(f"promoted {name} {version}: latest -> {version}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--store", required=True, help="s3://BUCKET/PREFIX or https://ACCOUNT.blob.core.windows.net/CONTAINER/PREFIX")
    ap.add_argument("--model-dir", help="folder with model.json, the artifact and the labels")
    ap.add_argument("--promote", metavar="VERSION", help="publish nothing: move NAME/latest (--name) to VERSION, already in the store")
    ap.add_argument("--name", help="model name (default: model.json's name)")
    ap.add_argument("--version", help="version to publish (default: model.json's version)")
    ap.add_argument("--no-latest", action="store_true", help="publish the version without moving NAME/latest")
    args = ap.parse_args(argv)
    if bool(args.model_dir) == bool(args.promote) or (args.promote and not args.name):
        ap.error("give --model-dir to publish, or --promote VERSION with --name")
    try:
        promote(args) if args.promote else publish(args)
    except Refused as e:
        print(f"publish: {redact(str(e))}", file=sys.stderr)
        return 2
    except StoreError as e:
        print(f"publish: {redact(str(e))}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
