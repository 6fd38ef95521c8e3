#!/usr/bin/env python3
"""A local Azure Blob endpoint whose authentication is judged by Azure's own Python SDK.

    python Tests/Fixtures/azure_server.py FIXTURE_DIR

No Azure emulator installs here (Azurite is npm-only), so this small server serves the files of
FIXTURE_DIR as blobs `models/fixtures/NAME` (plus 12 small blobs and their SHA256SUMS under
`models/many/`) at http://127.0.0.1:PORT/modelstore (the account's BlobEndpoint), supporting
Get Blob (with x-ms-range) and List Blobs (paginated, 5 per page). Every request must carry either
  - a Shared Key `Authorization` header equal to the one azure-storage-blob's
    SharedKeyCredentialPolicy computes for the same request, or
  - a SAS that azure-storage-blob's generate_blob_sas / generate_container_sas issued here;
anything else gets 403 AuthenticationFailed. Prints one JSON line with the account, key, endpoint
and issued SAS tokens, and runs until stdin closes.
"""
import base64
import datetime
import hashlib
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlparse
from xml.sax.saxutils import escape

from azure.core.pipeline import PipelineContext, PipelineRequest
from azure.core.pipeline.transport import HttpRequest
from azure.storage.blob import BlobSasPermissions, ContainerSasPermissions, generate_blob_sas, generate_container_sas
from azure.storage.blob._shared.authentication import SharedKeyCredentialPolicy

ACCOUNT = "modelstore"
KEY = base64.b64encode(b"model-fetch-test-account-key-0123456789abcdef").decode()
BLOBS = {}
SAS = {}  # resource path -> set of frozenset(SAS params)
LOG = []


def sas_params(query):
    return frozenset((k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k in ("sv", "ss", "srt", "sp", "se", "st", "spr", "sr", "sig", "sip", "skoid"))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body=b"", headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def error(self, status, code):
        self.reply(status, f'<?xml version="1.0" encoding="utf-8"?><Error><Code>{code}</Code></Error>'.encode(), [("Content-Type", "application/xml")])

    def authorized(self, resource):
        url = urlparse(self.path)
        given = sas_params(url.query)
        if ("sig", dict(given).get("sig")) in given and dict(given).get("sig"):
            return given in SAS.get(resource, set()) or given in SAS.get(resource.split("/")[0], set())
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("SharedKey "):
            return False
        request = HttpRequest("GET", f"http://{self.headers['Host']}{self.path}", headers={k: v for k, v in self.headers.items()})
        request.headers.pop("Authorization", None)
        pipeline = PipelineRequest(request, PipelineContext(None))
        SharedKeyCredentialPolicy(ACCOUNT, KEY).on_request(pipeline)
        return pipeline.http_request.headers["Authorization"] == auth

    def do_GET(self):
        url = urlparse(self.path)
        parts = url.path.split("/", 3)  # '', account, container, blob
        LOG.append({"path": url.path, "range": self.headers.get("x-ms-range"), "auth": "sas" if "sig=" in url.query else "sharedkey"})
        if url.path == "/log":
            return self.reply(200, json.dumps(LOG).encode())
        if len(parts) < 3 or parts[1] != ACCOUNT:
            return self.error(400, "InvalidUri")
        container = parts[2]
        blob = parts[3] if len(parts) > 3 else ""
        resource = f"{container}/{blob}" if blob else container
        if not self.authorized(resource):
            return self.error(403, "AuthenticationFailed")
        query = dict(parse_qsl(url.query))
        if not blob and query.get("comp") == "list":
            return self.list(container, query)
        data = BLOBS.get((container, blob))
        if data is None:
            return self.error(404, "BlobNotFound")
        start = 0
        rng = self.headers.get("x-ms-range") or self.headers.get("Range")
        if rng:
            start = int(rng.split("=")[1].split("-")[0])
        headers = [("x-ms-blob-type", "BlockBlob")]
        if start:
            headers.append(("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}"))
        self.reply(206 if start else 200, data[start:], headers)

    def list(self, container, query):
        prefix, marker = query.get("prefix", ""), query.get("marker", "")
        names = sorted(b for c, b in BLOBS if c == container and b.startswith(prefix) and b > marker)
        page, rest = names[:5], names[5:]
        xml = "".join(f"<Blob><Name>{escape(n)}</Name><Properties><Content-Length>{len(BLOBS[(container, n)])}</Content-Length></Properties></Blob>" for n in page)
        next_marker = f"<NextMarker>{escape(page[-1])}</NextMarker>" if rest else "<NextMarker />"
        body = f'<?xml version="1.0" encoding="utf-8"?><EnumerationResults><Blobs>{xml}</Blobs>{next_marker}</EnumerationResults>'
        self.reply(200, body.encode(), [("Content-Type", "application/xml")])


def main():
    fixtures = sys.argv[1]
    for name in sorted(os.listdir(fixtures)):
        path = os.path.join(fixtures, name)
        if os.path.isfile(path):
            BLOBS[("models", f"fixtures/{name}")] = open(path, "rb").read()
    for i in range(12):
        BLOBS[("models", f"many/part-{i:02d}.txt")] = f"blob {i}\n".encode()
    many = {f"part-{i:02d}.txt": BLOBS[("models", f"many/part-{i:02d}.txt")] for i in range(12)}
    BLOBS[("models", "many/SHA256SUMS")] = "".join(f"{hashlib.sha256(d).hexdigest()}  {n}\n" for n, d in many.items()).encode()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    expiry = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=2)
    tokens = {}
    for (container, blob) in BLOBS:
        if blob.startswith("fixtures/"):
            token = generate_blob_sas(ACCOUNT, container, blob, account_key=KEY, permission=BlobSasPermissions(read=True), expiry=expiry)
            SAS.setdefault(f"{container}/{blob}", set()).add(sas_params(token))
            tokens[blob] = token
    ctoken = generate_container_sas(ACCOUNT, "models", account_key=KEY, permission=ContainerSasPermissions(read=True, list=True), expiry=expiry)
    SAS.setdefault("models", set()).add(sas_params(ctoken))
    endpoint = f"http://127.0.0.1:{server.server_address[1]}/{ACCOUNT}"
    print(json.dumps({"account": ACCOUNT, "key": KEY, "endpoint": endpoint, "blob_sas": tokens, "container_sas": ctoken}), flush=True)
    sys.stdin.read()


if __name__ == "__main__":
    main()
