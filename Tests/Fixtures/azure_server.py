#!/usr/bin/env python3
"""A local Azure Blob endpoint whose authentication is judged by Azure's own Python SDK.

    python Tests/Fixtures/azure_server.py FIXTURE_DIR

No Azure emulator installs here (Azurite is npm-only), so this small server serves the files of
FIXTURE_DIR as blobs `models/fixtures/NAME` (plus 12 small blobs and their SHA256SUMS under
`models/many/`) at http://127.0.0.1:PORT/modelstore (the account's BlobEndpoint), supporting
Get Blob (with x-ms-range), Get Blob Properties (HEAD), List Blobs (paginated, 5 per page), and
Put Blob, Put Block and Put Block List (block blobs; If-None-Match / If-Match honoured, so the SDK's
`upload_blob(overwrite=False)` gets 409 BlobAlreadyExists). Every request must carry either
  - a Shared Key `Authorization` header equal to the one azure-storage-blob's
    SharedKeyCredentialPolicy computes for the same request (method, headers, path and query), or
  - an unexpired SAS that azure-storage-blob's generate_blob_sas / generate_container_sas issued
    here, whose permissions cover the operation (r: get/head, l: list, w or c: put a new blob,
    w: overwrite);
anything else gets 403 AuthenticationFailed (or AuthorizationPermissionMismatch for a SAS that
lacks the permission). Prints one JSON line with the account, key, endpoint and issued SAS tokens,
and runs until stdin closes.

Other scripts import it (Tests/Pipeline/stores.py):
    server, endpoint = start()                # containers `models`, no blobs
    server.container_sas("models")            # read + list
    server.container_sas("models", write=True)  # read + add + create + write + list
    server.shutdown()
"""
import base64
import datetime
import email.utils
import hashlib
import json
import os
import sys
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlparse
from xml.sax.saxutils import escape

from azure.core.pipeline import PipelineContext, PipelineRequest
from azure.core.pipeline.transport import HttpRequest
from azure.storage.blob import BlobSasPermissions, ContainerSasPermissions, generate_blob_sas, generate_container_sas
from azure.storage.blob._shared.authentication import SharedKeyCredentialPolicy

ACCOUNT = "modelstore"
KEY = base64.b64encode(b"model-fetch-test-account-key-0123456789abcdef").decode()
MAX_BODY = 512 << 20  # bytes one PUT may carry here (all blobs live in memory)
MESSAGES = {  # Azure's wording; the SDK puts an error's Message into its exception
    "AuthenticationFailed": "Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.",
    "AuthorizationPermissionMismatch": "This request is not authorized to perform this operation using this permission.",
    "BlobAlreadyExists": "The specified blob already exists.",
    "BlobNotFound": "The specified blob does not exist.",
    "ContainerNotFound": "The specified container does not exist.",
    "ConditionNotMet": "The condition specified using HTTP conditional header(s) is not met.",
}


def sas_params(query):
    return frozenset((k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k in ("sv", "ss", "srt", "sp", "se", "st", "spr", "sr", "sig", "sip", "skoid"))


def http_date(t=None):
    return email.utils.formatdate(t, usegmt=True)


class BlobEndpoint(ThreadingHTTPServer):
    """The endpoint and its state: containers, blobs (bytes) with their properties, issued SAS."""

    daemon_threads = True

    def __init__(self, containers=("models",)):
        super().__init__(("127.0.0.1", 0), Handler)
        self.lock = threading.Lock()
        self.containers = set(containers)
        self.blobs = {}  # (container, name) -> bytes
        self.props = {}  # (container, name) -> {"etag", "last_modified", "created", "content_type", "md5"}
        self.blocks = {}  # (container, name) -> {block id: bytes}, staged by Put Block
        self.sas = {}  # resource path ("container" or "container/blob") -> set of frozenset(SAS params)
        self.log = []

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.server_address[1]}/{ACCOUNT}"

    def put_blob(self, container, name, data, content_type="application/octet-stream"):
        now = time.time()
        old = self.props.get((container, name))
        self.blobs[(container, name)] = data
        self.blocks.pop((container, name), None)
        self.props[(container, name)] = {
            "etag": f'"0x{time.time_ns():X}{uuid.uuid4().hex[:4].upper()}"', "last_modified": http_date(now),
            "created": old["created"] if old else http_date(now), "content_type": content_type,
            "md5": base64.b64encode(hashlib.md5(data).digest()).decode()}

    def _issue(self, resource, token):
        self.sas.setdefault(resource, set()).add(sas_params(token))
        return token

    def blob_sas(self, container, blob, hours=2):
        """A read-only SAS for one blob."""
        expiry = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=hours)
        token = generate_blob_sas(ACCOUNT, container, blob, account_key=KEY, permission=BlobSasPermissions(read=True), expiry=expiry)
        return self._issue(f"{container}/{blob}", token)

    def container_sas(self, container, write=False, hours=2):
        """A container SAS: read + list, or with write=True read + add + create + write + list (no delete)."""
        expiry = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=hours)
        permission = ContainerSasPermissions(read=True, list=True, add=write, create=write, write=write)
        return self._issue(container, generate_container_sas(ACCOUNT, container, account_key=KEY, permission=permission, expiry=expiry))

    def connection_string(self, sas=None):
        """BlobEndpoint plus either the account key (Shared Key) or `sas`."""
        if sas:
            return f"BlobEndpoint={self.endpoint};SharedAccessSignature={sas}"
        return f"DefaultEndpointsProtocol=http;BlobEndpoint={self.endpoint};AccountName={ACCOUNT};AccountKey={KEY}"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body=b"", headers=(), length=None):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("x-ms-request-id", str(uuid.uuid4()))
        self.send_header("x-ms-version", self.headers.get("x-ms-version") or "2021-08-06")
        if self.headers.get("x-ms-client-request-id"):
            self.send_header("x-ms-client-request-id", self.headers["x-ms-client-request-id"])
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def error(self, status, code):
        message = f"{MESSAGES.get(code, code)}\nRequestId:{uuid.uuid4()}\nTime:{datetime.datetime.now(datetime.timezone.utc).isoformat()}"
        body = f'<?xml version="1.0" encoding="utf-8"?><Error><Code>{code}</Code><Message>{escape(message)}</Message></Error>'.encode()
        self.reply(status, body, [("Content-Type", "application/xml"), ("x-ms-error-code", code)])

    def target(self):
        """(container, blob, query) of the request, or None after replying 400 InvalidUri."""
        url = urlparse(self.path)
        parts = url.path.split("/", 3)  # '', account, container, blob
        if len(parts) < 3 or parts[1] != ACCOUNT or not parts[2]:
            self.error(400, "InvalidUri")
            return None
        self.server.log.append({"method": self.command, "path": url.path, "range": self.headers.get("x-ms-range"),
                                "auth": "sas" if "sig=" in url.query else "sharedkey"})
        return parts[2], parts[3] if len(parts) > 3 else "", dict(parse_qsl(url.query))

    def auth_error(self, container, blob, permissions):
        """None when the request may go on; else the error code. `permissions`: SAS letters any of which allows it."""
        given = sas_params(urlparse(self.path).query)
        sas = dict(given)
        if sas.get("sig"):
            issued = given in self.server.sas.get(f"{container}/{blob}" if blob else container, set()) or given in self.server.sas.get(container, set())
            expired = sas.get("se", "") < datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")  # ISO 8601 strings sort by time
            if not issued or expired:
                return "AuthenticationFailed"
            return None if any(p in sas.get("sp", "") for p in permissions) else "AuthorizationPermissionMismatch"
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("SharedKey "):
            return "AuthenticationFailed"
        # The same request as the SDK signed it: real method, every header as received (Content-Length,
        # Content-Type, If-None-Match, x-ms-*), path and query.
        request = HttpRequest(self.command, f"http://{self.headers['Host']}{self.path}", headers={k: v for k, v in self.headers.items()})
        request.headers.pop("Authorization", None)
        pipeline = PipelineRequest(request, PipelineContext(None))
        SharedKeyCredentialPolicy(ACCOUNT, KEY).on_request(pipeline)
        return None if pipeline.http_request.headers["Authorization"] == auth else "AuthenticationFailed"

    def properties(self, key):
        p = self.server.props[key]
        return [("Content-Type", p["content_type"]), ("ETag", p["etag"]), ("Last-Modified", p["last_modified"]),
                ("x-ms-creation-time", p["created"]), ("x-ms-blob-type", "BlockBlob"), ("x-ms-server-encrypted", "true"),
                ("x-ms-lease-status", "unlocked"), ("x-ms-lease-state", "available"), ("Accept-Ranges", "bytes")]

    def do_GET(self):
        if urlparse(self.path).path == "/log":
            return self.reply(200, json.dumps(self.server.log).encode())
        if not (t := self.target()):
            return
        container, blob, query = t
        if code := self.auth_error(container, blob, "l" if not blob and query.get("comp") == "list" else "r"):
            return self.error(403, code)
        if container not in self.server.containers:
            return self.error(404, "ContainerNotFound")
        if not blob and query.get("comp") == "list":
            return self.list(container, query)
        data = self.server.blobs.get((container, blob))
        if data is None:
            return self.error(404, "BlobNotFound")
        headers = self.properties((container, blob))
        rng = self.headers.get("x-ms-range") or self.headers.get("Range")
        if not rng:
            return self.reply(200, data, headers + [("Content-MD5", self.server.props[(container, blob)]["md5"])])
        first, _, last = rng.split("=", 1)[1].partition("-")
        start, end = int(first), min(int(last) if last else len(data) - 1, len(data) - 1)
        if start >= len(data):
            return self.error(416, "InvalidRange")
        self.reply(206, data[start:end + 1], headers + [("Content-Range", f"bytes {start}-{end}/{len(data)}")])

    def do_HEAD(self):
        """Get Blob Properties (what BlobClient.get_blob_properties and exists() send)."""
        if not (t := self.target()):
            return
        container, blob, _ = t
        if code := self.auth_error(container, blob, "r"):
            return self.error(403, code)
        if container not in self.server.containers:
            return self.error(404, "ContainerNotFound")
        if (container, blob) not in self.server.blobs:
            return self.error(404, "BlobNotFound")
        key = (container, blob)
        self.reply(200, b"", self.properties(key) + [("Content-MD5", self.server.props[key]["md5"])], length=len(self.server.blobs[key]))

    def do_PUT(self):
        """Put Blob (BlockBlob), Put Block (comp=block) and Put Block List (comp=blocklist)."""
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit() or int(length) > MAX_BODY:
            self.close_connection = True  # the body cannot be skipped
            return self.error(411 if length is None else 413, "MissingContentLengthHeader" if length is None else "RequestBodyTooLarge")
        data = self.rfile.read(int(length))  # read first, so a refusal does not break the connection
        if not (t := self.target()):
            return
        container, blob, query = t
        key = (container, blob)
        if not blob:
            return self.error(400, "UnsupportedHttpVerb")  # no container operations here
        if md5 := self.headers.get("Content-MD5"):
            if md5 != base64.b64encode(hashlib.md5(data).digest()).decode():
                return self.error(400, "Md5Mismatch")
        with self.server.lock:
            exists = key in self.server.blobs
            comp = query.get("comp")
            if code := self.auth_error(container, blob, "w" if exists and comp != "block" else "cw"):
                return self.error(403, code)
            if container not in self.server.containers:
                return self.error(404, "ContainerNotFound")
            if comp == "block":
                if not query.get("blockid"):
                    return self.error(400, "InvalidQueryParameterValue")
                self.server.blocks.setdefault(key, {})[query["blockid"]] = data
                return self.reply(201, b"", [("Content-MD5", base64.b64encode(hashlib.md5(data).digest()).decode()),
                                             ("x-ms-request-server-encrypted", "true")])
            if comp == "blocklist":
                try:
                    ids = [e.text or "" for e in ET.fromstring(data) if e.tag in ("Latest", "Uncommitted")]
                    data = b"".join(self.server.blocks.get(key, {})[i] for i in ids)
                except (ET.ParseError, KeyError):
                    return self.error(400, "InvalidBlockList")
            elif comp is not None:
                return self.error(400, "UnsupportedQueryParameter")
            elif self.headers.get("x-ms-blob-type") != "BlockBlob":
                return self.error(400, "InvalidHeaderValue" if self.headers.get("x-ms-blob-type") else "MissingRequiredHeader")
            etag = self.server.props[key]["etag"] if exists else None
            if_match, if_none_match = self.headers.get("If-Match"), self.headers.get("If-None-Match")
            if if_none_match == "*" and exists:
                return self.error(409, "BlobAlreadyExists")
            if (if_none_match and exists and if_none_match == etag) or (if_match and (not exists or if_match not in ("*", etag))):
                return self.error(412, "ConditionNotMet")
            content_type = self.headers.get("x-ms-blob-content-type") or "application/octet-stream"
            self.server.put_blob(container, blob, data, content_type)
            p = self.server.props[key]
        self.reply(201, b"", [("ETag", p["etag"]), ("Last-Modified", p["last_modified"]), ("Content-MD5", p["md5"]),
                              ("x-ms-request-server-encrypted", "true")])

    def list_properties(self, key):
        p = self.server.props[key]
        return (f"<Creation-Time>{p['created']}</Creation-Time><Last-Modified>{p['last_modified']}</Last-Modified>"
                f"<Etag>{escape(p['etag'])}</Etag><Content-Length>{len(self.server.blobs[key])}</Content-Length>"
                f"<Content-Type>{escape(p['content_type'])}</Content-Type><Content-MD5>{p['md5']}</Content-MD5>"
                "<BlobType>BlockBlob</BlobType><ServerEncrypted>true</ServerEncrypted>")

    def list(self, container, query):
        prefix, marker = query.get("prefix", ""), query.get("marker", "")
        blobs = self.server.blobs
        names = sorted(b for c, b in blobs if c == container and b.startswith(prefix) and b > marker)
        page, rest = names[:5], names[5:]
        xml = "".join(f"<Blob><Name>{escape(n)}</Name><Properties>{self.list_properties((container, n))}</Properties></Blob>" for n in page)
        next_marker = f"<NextMarker>{escape(page[-1])}</NextMarker>" if rest else "<NextMarker />"
        body = f'<?xml version="1.0" encoding="utf-8"?><EnumerationResults><Blobs>{xml}</Blobs>{next_marker}</EnumerationResults>'
        self.reply(200, body.encode(), [("Content-Type", "application/xml")])


def add_fixtures(server, fixtures):
    """The test blobs: FIXTURE_DIR's files as models/fixtures/NAME, and models/many/ (12 blobs + SHA256SUMS)."""
    server.containers.add("models")
    for name in sorted(os.listdir(fixtures)):
        path = os.path.join(fixtures, name)
        if os.path.isfile(path):
            with open(path, "rb") as f:
                server.put_blob("models", f"fixtures/{name}", f.read())
    many = {f"part-{i:02d}.txt": f"blob {i}\n".encode() for i in range(12)}
    for name, data in many.items():
        server.put_blob("models", f"many/{name}", data)
    server.put_blob("models", "many/SHA256SUMS", "".join(f"{hashlib.sha256(d).hexdigest()}  {n}\n" for n, d in many.items()).encode())


def start(blobs_from_dir=None, containers=("models",)):
    """Starts an endpoint on a free loopback port (serving in a daemon thread) with `containers`,
    and the test blobs of `blobs_from_dir` if given. Returns (server, endpoint URL)."""
    server = BlobEndpoint(containers)
    if blobs_from_dir:
        add_fixtures(server, blobs_from_dir)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.endpoint


def main():
    server, endpoint = start(sys.argv[1])
    tokens = {blob: server.blob_sas(container, blob) for (container, blob) in server.blobs if blob.startswith("fixtures/")}
    ctoken = server.container_sas("models")
    print(json.dumps({"account": ACCOUNT, "key": KEY, "endpoint": endpoint, "blob_sas": tokens, "container_sas": ctoken}), flush=True)
    sys.stdin.read()


if __name__ == "__main__":
    main()
