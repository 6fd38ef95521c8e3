#!/usr/bin/env python3
"""An HTTP server that misbehaves on purpose, for the fetcher's retry and resume tests.

    python Tests/Fixtures/fault_server.py FILE

Serves FILE's bytes (honouring `Range: bytes=N-`) at these paths, each with its own fault:
  /ok            always fine
  /drop          the first response stops halfway and the connection is closed (resume must follow)
  /droprange     like /drop, but Range is then ignored: the whole file again, with 200
  /flaky         503 twice, then fine
  /ratelimit     429 with Retry-After: 1 once, then fine
  /ratelimit-huge  429 with Retry-After of ~30 years once, then fine (the client must cap its wait)
  /wrong         fine, but one byte is flipped (checksum error)
  /stall         sends 1 KiB and then nothing, forever (stall timeout)
  /chunked       fine, but chunked: no Content-Length (so no size is known in advance)
  /gone          404;   /denied  403
  /echo          403 whose error code echoes the X-Api-Key header (as a careless server might)
and listings that never end, for S3 (`?list-type=2`, path-style `/BUCKET/`) and Azure
(`?comp=list`, `/ACCOUNT/CONTAINER`), chosen by the bucket or container name:
  repeat         two keys per page, and always the same continuation token
  endless        two keys per page, and a new token every time
  wide           25 keys per page, and a new token every time
each answering 400 after 300 pages, so a client without limits fails instead of hanging a test.
Prints one JSON line {"base": "http://127.0.0.1:PORT", "requests": ...} and records every request's
path and Range header, which GET /log returns as JSON. Runs until stdin closes.
"""
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

DATA = b""
COUNTS = {}
LOG = []
LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send_body(self, data, start=0, status=None):
        body = data[start:]
        self.send_response(status or (206 if start else 200))
        self.send_header("Content-Length", str(len(body)))
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.end_headers()
        return body

    def do_GET(self):
        path = self.path.split("?")[0]
        rng = self.headers.get("Range")
        with LOCK:
            COUNTS[path] = COUNTS.get(path, 0) + 1
            n = COUNTS[path]
            LOG.append({"path": path, "range": rng, "authorization": self.headers.get("Authorization")})
        if path == "/log":
            body = json.dumps(LOG).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        query = parse_qs(self.path.partition("?")[2])
        if "list-type" in query or "comp" in query:
            return self.listing(path.strip("/").split("/")[-1], n, query, azure="comp" in query)
        if path == "/echo":
            return self.reply(403, f"<Error><Code>AccessDenied for {self.headers.get('X-Api-Key')}</Code></Error>".encode())
        start = int(rng.split("=")[1].split("-")[0]) if rng and path != "/droprange" else 0
        if path in ("/gone", "/denied"):
            code = 404 if path == "/gone" else 403
            body = f"<Error><Code>{'NoSuchKey' if code == 404 else 'AccessDenied'}</Code></Error>".encode()
            self.send_response(code)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if path == "/flaky" and n <= 2 or path in ("/ratelimit", "/ratelimit-huge") and n == 1:
            self.send_response(503 if path == "/flaky" else 429)
            if path != "/flaky":
                self.send_header("Retry-After", "1" if path == "/ratelimit" else "999999999")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(0, len(DATA), 65536):
                chunk = DATA[i:i + 65536]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.write(b"0\r\n\r\n")
            return
        data = DATA
        if path == "/wrong":
            data = bytearray(DATA)
            data[len(data) // 2] ^= 0xFF
            data = bytes(data)
        body = self.send_body(data, start)
        if path in ("/drop", "/droprange") and n == 1:
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        if path == "/stall":
            self.wfile.write(body[:1024])
            self.wfile.flush()
            time.sleep(3600)
            return
        self.wfile.write(body)


    def reply(self, status, body):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def listing(self, mode, n, query, azure):
        """Page n of a listing that never ends (see the module docstring)."""
        if mode not in ("repeat", "endless", "wide") or n > 300:
            return self.reply(400, b"<Error><Code>InvalidRequest</Code></Error>")
        prefix = query.get("prefix", [""])[0]
        keys = [f"{prefix}k{n}-{i}" for i in range(25 if mode == "wide" else 2)]
        token = "same-token" if mode == "repeat" else f"token-{n}"
        if azure:
            items = "".join(f"<Blob><Name>{k}</Name></Blob>" for k in keys)
            body = f"<EnumerationResults><Blobs>{items}</Blobs><NextMarker>{token}</NextMarker></EnumerationResults>"
        else:
            items = "".join(f"<Contents><Key>{k}</Key></Contents>" for k in keys)
            body = f"<ListBucketResult><IsTruncated>true</IsTruncated>{items}<NextContinuationToken>{token}</NextContinuationToken></ListBucketResult>"
        self.reply(200, body.encode())


def main():
    global DATA
    with open(sys.argv[1], "rb") as f:
        DATA = f.read()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(json.dumps({"base": f"http://127.0.0.1:{server.server_address[1]}"}), flush=True)
    sys.stdin.read()


if __name__ == "__main__":
    main()
