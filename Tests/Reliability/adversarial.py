#!/usr/bin/env python3
"""Adversarial suite: a catalogue of hostile request classes against one model-server with its
default settings (plus a second one with API_KEYS and a short BODY_TIMEOUT_SECONDS for the
classes that need them).

For each class: the answer (status and JSON `error`), the time, and the server's peak RSS
(VmHWM, reset before the class through /proc/PID/clear_refs) around it. A class fails on

  - a crash (the process is gone afterwards; it is restarted for the next class),
  - a 5xx, or a status the class does not expect,
  - no answer where one is expected (a 413 may close the connection after answering),
  - a 4xx whose body is not JSON `{"error": "..."}`,
  - an answer slower than TIME_BOUND_S (plus the class's own deliberate waits),
  - a peak RSS above RSS_BOUND_MB (the pod limit is 512 Mi).

The suite ends with a normal request (the real photo, its expected top-1 label) and readiness 200.
Exits non-zero when anything failed; prints a table and writes the figures to --json.

    .venv/bin/python Tests/Reliability/adversarial.py --binary .build-static/release/model-server --json .cache/reliability-adversarial.json

`--slow 4` (or ADVERSARIAL_SLOW=4) scales the time bounds for a debug build; the release run
uses the real bounds.
"""
import argparse
import base64
import functools
import io
import json
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from dataclasses import dataclass, field

from common import CLASSIFY, PHOTO, ROOT, Replica, default_binary, finish, free_port, get_status

# Bounds. RSS: the pod limit is 512 Mi; the server idles at ~100-150 MB and a legitimate 40 M
# pixel image costs ~120 MB of RGB while it is decoded, so 320 MB leaves room for that and none
# for a request that makes memory grow with its size. Tighten it once the measured maximum
# (printed at the end) is known for the release binary.
RSS_BOUND_MB = 320
TIME_BOUND_S = 5.0            # per class, plus the class's own deliberate waits
CLIENT_TIMEOUT_S = 20.0       # give up waiting for an answer after this long
KILL_RSS_MB = 2048            # safety valve: a runaway server is SIGKILLed above this (a failure too)
MAX_RESPONSE_BYTES = 64 << 20  # the client stops reading a response body beyond this

MODEL = "efficientnet-lite0"
V2 = f"/v2/models/{MODEL}/infer"
PREDICT = f"/v1/models/{MODEL}:predict"
MIB = 1 << 20
ALL_4XX = frozenset(range(400, 500))
# JPEGMEM: libjpeg's own memory cap (1 MB here), the safety net under MAX_DECODE_BYTES' estimate.
AUX_ENV = {"API_KEYS": "secret", "BODY_TIMEOUT_SECONDS": "2", "IDLE_TIMEOUT_SECONDS": "3", "JPEGMEM": "1000"}
BODY_TIMEOUT_S = 2.0
CACHE = os.path.join(ROOT, ".cache", "adversarial")


# ---------------------------------------------------------------------------------------------
# A raw HTTP/1.1 client: sends from one thread while reading answers in the caller's, so that an
# answer sent before the server closes (413 on a body still being sent) is still read.

@dataclass
class Answer:
    status: int = 0            # 0: no answer
    headers: dict = field(default_factory=dict)
    body: bytes = b""
    note: str = ""             # why there is no (complete) answer: closed, reset, timed out
    seconds: float = 0.0
    summary: str = ""          # for classes of many requests: what came back
    problem: str = ""          # a class's own finding, beyond the status checks

    def error_message(self):
        try:
            return str(json.loads(self.body).get("error", ""))
        except (ValueError, AttributeError):
            return ""


class NoAnswer(Exception):
    pass


class Reader:
    def __init__(self, sock, deadline):
        self.sock, self.deadline, self.buf = sock, deadline, bytearray()

    def more(self):
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise NoAnswer("timed out")
        self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(1 << 20)
        except socket.timeout:
            raise NoAnswer("timed out")
        except ConnectionResetError:
            raise NoAnswer("connection reset")
        except OSError as e:
            raise NoAnswer(f"{type(e).__name__}: {e}")
        if not data:
            raise NoAnswer("closed")
        self.buf += data

    def take(self, n):
        while len(self.buf) < n:
            self.more()
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def line(self, limit=1 << 20):
        while (i := self.buf.find(b"\r\n")) < 0:
            if len(self.buf) > limit:
                raise NoAnswer("a response line without end")
            self.more()
        out = bytes(self.buf[:i])
        del self.buf[:i + 2]
        return out

    def response(self):
        """One response; 1xx interim responses are skipped."""
        while True:
            status_line = self.line()
            parts = status_line.split(b" ", 2)
            if len(parts) < 2 or not parts[0].startswith(b"HTTP/"):
                raise NoAnswer(f"not an HTTP response: {status_line[:60]!r}")
            status = int(parts[1])
            headers = {}
            while (line := self.line()):
                name, _, value = line.partition(b":")
                headers[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
            if 100 <= status < 200:
                continue
            break
        body = b""
        if headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while (size := int(self.line().split(b";")[0], 16)):
                chunks.append(self.take(size))
                self.line()
                if sum(map(len, chunks)) > MAX_RESPONSE_BYTES:
                    raise NoAnswer(f"response body over {MAX_RESPONSE_BYTES >> 20} MB")
            while self.line():
                pass
            body = b"".join(chunks)
        elif "content-length" in headers:
            n = int(headers["content-length"])
            if n > MAX_RESPONSE_BYTES:
                raise NoAnswer(f"response body of {n} bytes")
            body = self.take(n)
        elif status not in (204, 304):
            try:
                while len(self.buf) <= MAX_RESPONSE_BYTES:
                    self.more()
            except NoAnswer:
                pass
            body = bytes(self.buf)
            self.buf.clear()
        return Answer(status, headers, body)


def exchange(port, pieces, responses=1, timeout=None):
    """Sends `pieces` (bytes to send, a float to sleep that long, or "SHUT_WR") on one connection
    while reading up to `responses` answers. Returns the answers; the last one has status 0 and a
    note when fewer came back."""
    timeout = timeout or CLIENT_TIMEOUT_S
    start = time.monotonic()
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    except OSError as e:
        return [Answer(note=f"connect failed: {e}", seconds=time.monotonic() - start)]
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    stop = threading.Event()

    def send():
        try:
            for piece in pieces:
                if stop.is_set():
                    return
                if isinstance(piece, (int, float)):
                    stop.wait(piece)
                elif piece == "SHUT_WR":
                    sock.shutdown(socket.SHUT_WR)
                else:
                    sock.sendall(piece)
        except OSError:
            pass  # the server closed or reset: its answer, if any, is read below

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    reader = Reader(sock, start + timeout)
    answers = []
    try:
        for _ in range(responses):
            answer = reader.response()
            answer.seconds = time.monotonic() - start
            answers.append(answer)
    except NoAnswer as e:
        answers.append(Answer(note=str(e), seconds=time.monotonic() - start))
    except (ValueError, UnicodeDecodeError) as e:
        answers.append(Answer(note=f"unparsable response: {e}", seconds=time.monotonic() - start))
    stop.set()
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
    sender.join(2)
    return answers


def request(method, path, headers=None, body=b"", content_length=True):
    """The bytes of one HTTP/1.1 request; `path` and header values may be bytes."""
    enc = lambda v: v if isinstance(v, bytes) else str(v).encode("latin-1")
    h = {"Host": "127.0.0.1", **(headers or {})}
    if content_length and body is not None and "Content-Length" not in h and "Transfer-Encoding" not in h:
        h["Content-Length"] = len(body)
    head = enc(method) + b" " + enc(path) + b" HTTP/1.1\r\n"
    head += b"".join(enc(k) + b": " + enc(v) + b"\r\n" for k, v in h.items()) + b"\r\n"
    return head + (body or b"")


def one(port, method, path, headers=None, body=b"", timeout=None):
    return exchange(port, [request(method, path, headers, body)], timeout=timeout)[0]


def post_json(port, path, obj=None, raw=None, headers=None):
    body = raw if raw is not None else json.dumps(obj, separators=(",", ":")).encode()
    return one(port, "POST", path, {"Content-Type": "application/json", **(headers or {})}, body)


# ---------------------------------------------------------------------------------------------
# Payloads, made in memory (the slowest, the 20000×20000 PNG bomb, is cached under .cache/).

def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def zero_png(width, height, extra=b""):
    """A black RGB PNG streamed through zlib: tiny compressed, width×height when decoded."""
    c = zlib.compressobj(9)
    row = bytes(1 + 3 * width)
    idat = b"".join(c.compress(row) for _ in range(height)) + c.flush()
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) + extra
            + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b""))


def encode(image, fmt, **kw):
    buf = io.BytesIO()
    image.save(buf, fmt, **kw)
    return buf.getvalue()


@functools.cache
def photo():
    from PIL import Image
    if not os.path.exists(PHOTO):
        raise SystemExit(f"{PHOTO} is missing: run `make test-data`")
    return Image.open(PHOTO).convert("RGB")


@functools.cache
def photo_jpeg():
    return open(PHOTO, "rb").read()


@functools.cache
def photo_png():
    return encode(photo(), "PNG")


@functools.cache
def tiny_png():
    from PIL import Image
    return encode(Image.new("RGB", (1, 1), (200, 30, 30)), "PNG")


@functools.cache
def small_png():
    """A 32×32 crop of the photo: a valid, cheap image."""
    return encode(photo().resize((32, 32)), "PNG")


def b64(data):
    return base64.b64encode(data).decode()


@functools.cache
def bomb_png():
    path = os.path.join(CACHE, "bomb-20000x20000.png")
    if os.path.exists(path):
        return open(path, "rb").read()
    data = zero_png(20000, 20000)
    os.makedirs(CACHE, exist_ok=True)
    with open(path + ".tmp", "wb") as f:
        f.write(data)
    os.replace(path + ".tmp", path)
    return data


@functools.cache
def big_png():
    return zero_png(6000, 6000)  # 36 M pixels, under MAX_IMAGE_PIXELS (40 M); ~100 KB


def jpeg_segments(data):
    """(marker, start, end) of each segment up to SOS-with-data; scans end at the next non-RST marker."""
    out, i = [], 2
    while i < len(data):
        assert data[i] == 0xFF
        marker = data[i + 1]
        if marker == 0xD9:
            out.append((marker, i, i + 2))
            break
        length = struct.unpack(">H", data[i + 2:i + 4])[0]
        end = i + 2 + length
        if marker == 0xDA:  # entropy-coded data follows until a marker other than RSTn or a stuffed 0xFF00
            j = end
            while not (data[j] == 0xFF and data[j + 1] not in (0x00, *range(0xD0, 0xD8))):
                j += 1
            end = j
        out.append((marker, i, end))
        i = end
    return out


@functools.cache
def many_scans_jpeg(copies=3000):
    """A progressive JPEG whose smallest scan is repeated `copies` times before EOI."""
    data = encode(photo().resize((1024, 1024)), "JPEG", progressive=True, quality=85)
    segments = jpeg_segments(data)
    scans = [(s, e) for m, s, e in segments if m == 0xDA]
    s, e = min(scans, key=lambda r: r[1] - r[0])
    eoi = segments[-1][1]
    return data[:eoi] + data[s:e] * copies + data[eoi:]


def jpeg_claiming(width, height):
    """The photo with its frame header (SOF0/SOF2) patched to claim width×height."""
    data = bytearray(photo_jpeg())
    for marker, s, _ in jpeg_segments(bytes(data)):
        if marker in (0xC0, 0xC1, 0xC2):
            data[s + 5:s + 9] = struct.pack(">HH", height, width)
            return bytes(data)
    raise RuntimeError("no SOF in the photo")


def png_rgb16():
    import numpy as np
    a = (np.asarray(photo(), dtype=np.uint16) * 257).astype(">u2")
    h, w, _ = a.shape
    raw = b"".join(b"\0" + a[y].tobytes() for y in range(h))
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0))
            + png_chunk(b"IDAT", zlib.compress(raw, 6)) + png_chunk(b"IEND", b""))


def png_with_chunk(chunk):
    """The 32×32 PNG with `chunk` inserted after IHDR."""
    data = small_png()
    at = 8 + 25  # signature + IHDR chunk
    return data[:at] + chunk + data[at:]


def multipart(parts, boundary="AdversarialBoundary", close=True, header_extra=b""):
    b = boundary.encode()
    out = []
    for i, data in enumerate(parts):
        out += [b"--", b, b"\r\n", b'Content-Disposition: form-data; name="f%d"; filename="f%d.png"\r\n' % (i, i),
                b"Content-Type: image/png\r\n", header_extra, b"\r\n", data, b"\r\n"]
    if close:
        out += [b"--", b, b"--\r\n"]
    return b"".join(out), f"multipart/form-data; boundary={boundary}"


def v2_input(shape, datatype="FP32", data=None, parameters=None, name="input"):
    spec = {"name": name, "shape": shape, "datatype": datatype}
    if data is not None:
        spec["data"] = data
    if parameters is not None:
        spec["parameters"] = parameters
    return spec


def v2_image_input():
    return v2_input([1], "BYTES", [b64(small_png())])


def v2_binary(spec_json, binary, header_value=None):
    """A Triton binary-extension request: the JSON header, then the binary data."""
    head = json.dumps(spec_json).encode()
    return {"Inference-Header-Content-Length": header_value if header_value is not None else len(head)}, head + binary


def zeros_list_json(count):
    return b"[" + b"0," * (count - 1) + b"0]"


# ---------------------------------------------------------------------------------------------
# The catalogue. Each class: a function of the server's port returning an Answer; its expected
# statuses; a one-line description. `wait` is the class's own deliberate delay (added to the time
# bound); `optional` means that closing without an answer is also acceptable.

@dataclass
class Case:
    name: str
    description: str
    expect: frozenset
    run: object
    server: str = "main"
    wait: float = 0.0
    optional: bool = False
    check: object = None       # answer -> problem or None, for 200 answers


CASES = []


def case(expect, description, **kw):
    expect = frozenset([expect] if isinstance(expect, int) else expect)

    def wrap(fn):
        CASES.append(Case(fn.__name__, description, expect, fn, **kw))
        return fn
    return wrap


def predictions_check(count=1):
    def check(a):
        try:
            p = json.loads(a.body)["predictions"]
        except (ValueError, KeyError, TypeError):
            return "200 without predictions"
        return None if len(p) == count else f"{len(p)} predictions for {count} images"
    return check


def classify(port, body, ctype, query=""):
    return one(port, "POST", CLASSIFY + query, {"Content-Type": ctype}, body)


# --- Open Inference Protocol (V2) -------------------------------------------------------------

@case({400, 413}, "V2 FP32 shape [2^62,3,224,224]: the element count overflows Int")
def v2_shape_overflow(port):
    return post_json(port, V2, {"inputs": [v2_input([4611686018427387904, 3, 224, 224], data=[0.0])]})


@case({400, 413}, "V2 BYTES shape [2^62,4]: the image count overflows Int")
def v2_bytes_shape_overflow(port):
    return post_json(port, V2, {"inputs": [v2_input([4611686018427387904, 4], "BYTES", [b64(small_png())])]})


@case(400, "V2 shape with a negative dimension [-1,3,224,224]")
def v2_shape_negative(port):
    return post_json(port, V2, {"inputs": [v2_input([-1, 3, 224, 224], data=[0.0])]})


@case(400, "V2 shape with zero dimensions [0,3,224,224], empty data")
def v2_shape_zero(port):
    return post_json(port, V2, {"inputs": [v2_input([0, 3, 224, 224], data=[])]})


@case(400, "V2 shape of the wrong rank [3,224,224]")
def v2_shape_rank(port):
    return post_json(port, V2, {"inputs": [v2_input([3, 224, 224], data=[0.0] * 10)]})


@case(400, "V2 shape [1,3,224,224] with 10 values of data")
def v2_count_mismatch(port):
    return post_json(port, V2, {"inputs": [v2_input([1, 3, 224, 224], data=[0.0] * 10)]})


@case({400, 413}, "V2 huge shape [1000000,3,224,224] with one value of data")
def v2_huge_shape_tiny_data(port):
    return post_json(port, V2, {"inputs": [v2_input([1000000, 3, 224, 224], data=[0.0])]})


@case(400, "V2 unknown datatype FP128")
def v2_datatype_unknown(port):
    return post_json(port, V2, {"inputs": [v2_input([1, 3, 224, 224], "FP128", [0.0])]})


@case(400, "V2 BYTES whose element is not base64")
def v2_bytes_not_base64(port):
    return post_json(port, V2, {"inputs": [v2_input([1], "BYTES", ["!!!not*base64%%%\u00e9"])]})


@case(413, "V2 BYTES with 3000 tiny base64 images (more than MAX_ROWS_PER_REQUEST)")
def v2_bytes_3000_images(port):
    return post_json(port, V2, {"inputs": [v2_input([3000], "BYTES", [b64(tiny_png())] * 3000)]})


@case(400, "V2 binary extension: binary_data_size -5")
def v2_binary_size_negative(port):
    headers, body = v2_binary({"inputs": [v2_input([1, 3, 224, 224], parameters={"binary_data_size": -5})]}, b"\0" * 64)
    return one(port, "POST", V2, headers, body)


@case(400, "V2 binary extension: binary_data_size 10^9, larger than the body")
def v2_binary_size_past_body(port):
    headers, body = v2_binary({"inputs": [v2_input([1, 3, 224, 224], parameters={"binary_data_size": 10**9})]}, b"\0" * 64)
    return one(port, "POST", V2, headers, body)


@case(400, "V2 Inference-Header-Content-Length past the end of the body")
def v2_ihcl_past_body(port):
    headers, body = v2_binary({"inputs": [v2_image_input()]}, b"", header_value=10**6)
    return one(port, "POST", V2, headers, body)


@case(400, "V2 Inference-Header-Content-Length -1")
def v2_ihcl_negative(port):
    headers, body = v2_binary({"inputs": [v2_image_input()]}, b"", header_value=-1)
    return one(port, "POST", V2, headers, body)


@case(400, "V2 Inference-Header-Content-Length 'abc'")
def v2_ihcl_non_numeric(port):
    headers, body = v2_binary({"inputs": [v2_image_input()]}, b"", header_value="abc")
    return one(port, "POST", V2, headers, body)


@case(400, "V2 Inference-Header-Content-Length 10^30")
def v2_ihcl_huge(port):
    headers, body = v2_binary({"inputs": [v2_image_input()]}, b"", header_value="1" + "0" * 30)
    return one(port, "POST", V2, headers, body)


@case(400, "V2 FP32 binary tensor of 602113 bytes: not a whole number of elements")
def v2_binary_not_multiple(port):
    n = 3 * 224 * 224 * 4 + 1
    headers, body = v2_binary({"inputs": [v2_input([1, 3, 224, 224], parameters={"binary_data_size": n})]}, b"\0" * n)
    return one(port, "POST", V2, headers, body)


@case(400, "V2 BYTES binary element with length prefix 0xFFFFFFFF")
def v2_bytes_length_prefix_ffffffff(port):
    blob = b"\xff\xff\xff\xff" + b"abc"
    headers, body = v2_binary({"inputs": [v2_input([1], "BYTES", parameters={"binary_data_size": len(blob)})]}, blob)
    return one(port, "POST", V2, headers, body)


@case(400, "JSON arrays nested 100000 deep (V2 infer)")
def json_nested_100000(port):
    return post_json(port, V2, raw=b"[" * 100000 + b"]" * 100000)


@case(400, "JSON objects nested 100000 deep (V1 predict)")
def json_nested_objects_100000(port):
    return post_json(port, PREDICT, raw=b'{"a":' * 100000 + b"1" + b"}" * 100000)


@case({400, 413}, "V2 FP32 [1,3,224,224] with a flat `data` list of ~8M zeros (a 16 MiB body)")
def v2_data_8m_numbers(port):
    prefix = b'{"inputs":[{"name":"input","shape":[1,3,224,224],"datatype":"FP32","data":'
    count = (16 * MIB - len(prefix) - 16) // 2
    return post_json(port, V2, raw=prefix + zeros_list_json(count) + b"}]}")


@case(413, "V2 FP32 [55,3,224,224] as JSON zeros, a consistent 16 MiB body with 55 rows")
def v2_55_rows_json(port):
    rows = 55
    prefix = b'{"inputs":[{"name":"input","shape":[%d,3,224,224],"datatype":"FP32","data":' % rows
    return post_json(port, V2, raw=prefix + zeros_list_json(rows * 3 * 224 * 224) + b"}]}")


@case((400, 413), "V2 request listing 100000 inputs")
def v2_100000_inputs(port):
    return post_json(port, V2, {"inputs": [v2_input([1], "BYTES", ["x"])] * 100000})


@case((400, 413), "V2 request asking for 100000 outputs")
def v2_100000_outputs(port):
    return post_json(port, V2, {"inputs": [v2_image_input()], "outputs": [{"name": "logits"}] * 100000})


@case(400, "V2 classification parameter 10^20")
def v2_classification_huge(port):
    return post_json(port, V2, {"inputs": [v2_image_input()], "outputs": [{"name": "logits", "parameters": {"classification": 10**20}}]})


@case(400, "V2 classification parameter -1")
def v2_classification_negative(port):
    return post_json(port, V2, {"inputs": [v2_image_input()], "outputs": [{"name": "logits", "parameters": {"classification": -1}}]})


@case(400, "V2 classification parameter 2.5")
def v2_classification_non_integer(port):
    return post_json(port, V2, {"inputs": [v2_image_input()], "outputs": [{"name": "logits", "parameters": {"classification": 2.5}}]})


@case(400, "V2 unknown output name")
def v2_unknown_output(port):
    return post_json(port, V2, {"inputs": [v2_image_input()], "outputs": [{"name": "no-such-output"}]})


@case({200} | ALL_4XX, "V2 request `id` a 1 MB string")
def v2_id_1mb(port):
    return post_json(port, V2, {"id": "i" * MIB, "inputs": [v2_image_input()]})


@case(400, "JSON body with non-UTF-8 bytes in a string")
def json_non_utf8(port):
    return post_json(port, V2, raw=b'{"inputs":[{"name":"in\xff\xfeput","shape":[1],"datatype":"BYTES","data":["\xc3\x28\xa0\xa1"]}]}')


# --- KServe V1 --------------------------------------------------------------------------------

@case(413, "V1 :predict with 100000 b64 instances")
def v1_predict_100000_instances(port):
    return post_json(port, PREDICT, {"instances": [{"b64": b64(tiny_png())}] * 100000})


@case(413, "V1 :predict with 40 tensor instances of 3x224x224 zeros (more than MAX_ROWS_PER_REQUEST)")
def v1_predict_40_tensors(port):
    row = zeros_list_json(224)
    plane = b"[" + b",".join([row] * 224) + b"]"
    instance = b"[" + b",".join([plane] * 3) + b"]"
    return post_json(port, PREDICT, raw=b'{"instances":[' + b",".join([instance] * 40) + b"]}")


@case(400, "V1 :predict with instances of wrong lengths")
def v1_predict_wrong_lengths(port):
    return post_json(port, PREDICT, {"instances": [[0.0] * 10, [0.0] * 5]})


@case(400, "V1 :predict with b64 instances of random garbage")
def v1_predict_b64_garbage(port):
    garbage = random.Random(1).randbytes(1000)
    return post_json(port, PREDICT, {"instances": [{"b64": b64(garbage)}, {"b64": "!!!!"}]})


# --- :classify --------------------------------------------------------------------------------

@case(400, ":classify with top_k=abc")
def classify_top_k_abc(port):
    return classify(port, small_png(), "image/png", "?top_k=abc")


@case(400, ":classify with top_k=-1")
def classify_top_k_negative(port):
    return classify(port, small_png(), "image/png", "?top_k=-1")


@case(400, ":classify with top_k=10^20")
def classify_top_k_huge(port):
    return classify(port, small_png(), "image/png", "?top_k=100000000000000000000")


@case(413, "multipart form of 5000 tiny image parts")
def multipart_5000_parts(port):
    body, ctype = multipart([tiny_png()] * 5000)
    return classify(port, body, ctype)


@case(413, "multipart form of 33 images (one more than MAX_ROWS_PER_REQUEST)")
def multipart_33_images(port):
    body, ctype = multipart([small_png()] * 33)
    return classify(port, body, ctype)


@case(200, "multipart form of 32 images (MAX_ROWS_PER_REQUEST): answered", check=predictions_check(32))
def multipart_32_images_ok(port):
    body, ctype = multipart([small_png()] * 32)
    return classify(port, body, ctype)


@case(400, "multipart form without its closing boundary")
def multipart_unclosed(port):
    body, ctype = multipart([small_png()], close=False)
    return classify(port, body, ctype)


@case(400, "multipart boundary of 75 characters")
def multipart_long_boundary(port):
    body, ctype = multipart([small_png()], boundary="b" * 75)
    return classify(port, body, ctype)


@case({400, 413, 431}, "multipart part with a 1 MB header line")
def multipart_huge_header(port):
    body, ctype = multipart([small_png()], header_extra=b"X-Pad: " + b"a" * MIB + b"\r\n")
    return classify(port, body, ctype)


@case(413, "multipart of 3 images of 6000x6000 (each under MAX_IMAGE_PIXELS; 108 M > MAX_REQUEST_PIXELS)")
def request_pixel_budget(port):
    body, ctype = multipart([big_png()] * 3)
    return classify(port, body, ctype)


# --- raw image bodies -------------------------------------------------------------------------

@case(400, "0-byte image/png body")
def image_empty(port):
    return classify(port, b"", "image/png")


@case(400, "65000x1 JPEG (aspect ratio above MAX_IMAGE_ASPECT_RATIO)")
def jpeg_65000x1(port):
    from PIL import Image
    return classify(port, encode(Image.new("RGB", (65000, 1), (90, 120, 200)), "JPEG"), "image/jpeg")


@case(400, "1x65000 PNG (aspect ratio above MAX_IMAGE_ASPECT_RATIO)")
def png_1x65000(port):
    from PIL import Image
    return classify(port, encode(Image.new("RGB", (1, 65000), (90, 120, 200)), "PNG"), "image/png")


@case(400, "1x65000 JPEG (aspect ratio above MAX_IMAGE_ASPECT_RATIO)")
def jpeg_1x65000(port):
    from PIL import Image
    return classify(port, encode(Image.new("RGB", (1, 65000), (90, 120, 200)), "JPEG"), "image/jpeg")


@case(400, "65000x1 PNG (aspect ratio above MAX_IMAGE_ASPECT_RATIO)")
def png_65000x1(port):
    from PIL import Image
    return classify(port, encode(Image.new("RGB", (65000, 1), (90, 120, 200)), "PNG"), "image/png")


@case({200, 400}, "1x1 JPEG", check=predictions_check(1))
def jpeg_1x1(port):
    from PIL import Image
    return classify(port, encode(Image.new("RGB", (1, 1), (200, 30, 30)), "JPEG"), "image/jpeg")


@case({200, 400}, "1x1 PNG", check=predictions_check(1))
def png_1x1(port):
    return classify(port, tiny_png(), "image/png")


@case(400, "JPEG truncated to a third")
def jpeg_truncated(port):
    data = photo_jpeg()
    return classify(port, data[:len(data) // 3], "image/jpeg")


@case(400, "PNG truncated to a third")
def png_truncated(port):
    data = photo_png()
    return classify(port, data[:len(data) // 3], "image/png")


@case(413, "PNG bomb: 20000x20000 all zero, ~1 MB compressed (above MAX_IMAGE_PIXELS)")
def png_bomb(port):
    return classify(port, bomb_png(), "image/png")


@case(413, "JPEG whose frame header claims 65000x65000")
def jpeg_bomb(port):
    return classify(port, jpeg_claiming(65000, 65000), "image/jpeg")


@case({200, 413}, "6000x6000 PNG (36 M pixels, under MAX_IMAGE_PIXELS), ~100 KB compressed", check=predictions_check(1))
def png_6000x6000(port):
    return classify(port, big_png(), "image/png")


@case({200, 400}, "PNG with an iCCP chunk that inflates to 200 MB", check=predictions_check(1))
def png_iccp_bomb(port):
    return classify(port, iccp_bomb_png(), "image/png")


@functools.cache
def iccp_bomb_png():
    c = zlib.compressobj(9)
    profile = b"".join(c.compress(bytes(MIB)) for _ in range(200)) + c.flush()
    return png_with_chunk(png_chunk(b"iCCP", b"icc\0\0" + profile))


@case({200, 400}, "PNG with an 8 MB tEXt chunk", check=predictions_check(1))
def png_text_8mb(port):
    return classify(port, png_with_chunk(png_chunk(b"tEXt", b"Comment\0" + b"x" * (8 * MIB))), "image/png")


@case({200, 400}, "progressive JPEG with its smallest scan repeated 3000 times", check=predictions_check(1))
def jpeg_many_scans(port):
    return classify(port, many_scans_jpeg(), "image/jpeg")


@case(200, "CMYK JPEG", check=predictions_check(1))
def jpeg_cmyk(port):
    return classify(port, encode(photo().convert("CMYK"), "JPEG", quality=90), "image/jpeg")


@case(200, "16-bit RGB PNG", check=predictions_check(1))
def png_16bit(port):
    return classify(port, png_rgb16(), "image/png")


@case(200, "palette PNG with tRNS transparency", check=predictions_check(1))
def png_palette_trns(port):
    return classify(port, encode(photo().convert("P"), "PNG", transparency=0), "image/png")


# --- the Flask contract (/score) --------------------------------------------------------------

@case(413, "/score with 3000 tiny base64 images")
def score_3000_images(port):
    return post_json(port, "/score", {"input": json.dumps([b64(tiny_png())] * 3000)})


@case(400, "/score whose input string holds a number, not a list")
def score_not_a_list(port):
    return post_json(port, "/score", {"input": "42"})


@case(400, "/score with b'...' wrappers around garbage")
def score_b_wrapped_garbage(port):
    return post_json(port, "/score", {"input": json.dumps(["b'!!!!'", "b'AAAA'", "b'" + b64(os.urandom(64)) + "'"])})


# --- bodies -----------------------------------------------------------------------------------

@case(413, "17 MiB body with Content-Length")
def body_17mib_content_length(port):
    return classify(port, b"\0" * (17 * MIB), "image/png")


@case(413, "17 MiB body, chunked (no Content-Length)")
def body_17mib_chunked(port):
    head = request("POST", CLASSIFY, {"Content-Type": "image/png", "Transfer-Encoding": "chunked"}, None)
    chunk = b"%x\r\n" % (64 * 1024) + b"\0" * (64 * 1024) + b"\r\n"
    return exchange(port, [head] + [chunk] * (17 * 16) + [b"0\r\n\r\n"])[0]


@case({400, 408}, "Content-Length 1000000 but 1000 bytes sent, then the client half-closes after 1 s",
      wait=1.0, optional=True)
def content_length_lying(port):
    head = request("POST", CLASSIFY, {"Content-Type": "image/png", "Content-Length": 1000000}, None)
    return exchange(port, [head, b"\0" * 1000, 1.0, "SHUT_WR"])[0]


# --- headers, request line, paths -------------------------------------------------------------

@case({200, 400, 413, 431}, "GET with one 64 KB header line")
def header_64kb(port):
    return one(port, "GET", "/v2/health/ready", {"X-Big": "a" * 65536}, None)


@case({200, 400, 413, 431}, "GET with 10000 headers")
def headers_10000(port):
    return one(port, "GET", "/v2/health/ready", {f"X-H{i}": "v" for i in range(10000)}, None)


@case({400, 404, 414, 431}, "request line of 100 KB")
def request_line_100kb(port):
    return one(port, "GET", "/" + "a" * 100000, None, None)


@case({200, 400, 404, 414}, "path with 10000 '//' segments")
def path_slashes(port):
    return one(port, "GET", "/v2" + "//" * 10000 + "health/ready", None, None)


@case({200, 400, 404, 414}, "path with 10000 '../' segments")
def path_dotdot(port):
    return one(port, "GET", "/" + "../" * 10000 + "v2/health/ready", None, None)


@case({400, 404}, "percent-encoded garbage in the model name")
def path_percent_garbage(port):
    return post_json(port, "/v2/models/%FF%FE%00%2F..%zz%%/infer", {"inputs": [v2_image_input()]})


@case(404, "unknown model")
def unknown_model(port):
    return post_json(port, "/v2/models/no-such-model/infer", {"inputs": [v2_image_input()]})


@case(405, "DELETE on the infer route")
def wrong_method(port):
    return one(port, "DELETE", V2, None, b"")


@case(415, ":classify with Content-Type text/plain")
def wrong_content_type(port):
    return classify(port, small_png(), "text/plain")


# --- connections ------------------------------------------------------------------------------

PIPELINED = 2000


@case(200, f"{PIPELINED} pipelined GET /v2/health/live on one connection")
def pipelined(port):
    one_request = request("GET", "/v2/health/live", None, None)
    last = request("GET", "/v2/health/live", {"Connection": "close"}, None)
    answers = exchange(port, [one_request * (PIPELINED - 1) + last], responses=PIPELINED)
    statuses = [a.status for a in answers]
    counts = {s: statuses.count(s) for s in sorted(set(statuses))}
    summary = ", ".join(f"{n}x{s}" for s, n in counts.items())
    bad = next((a for a in answers if a.status != 200), None)
    if bad is None:
        result = Answer(200, answers[-1].headers, answers[-1].body, summary=summary)
    elif bad.status == 0 and answers.index(bad) > 0 and all(a.status == 200 for a in answers[:-1]):
        # The server may cap pipelined requests per connection and close: acceptable.
        result = Answer(200, answers[-2].headers, answers[-2].body, summary=summary + f" then {bad.note}")
    else:
        result = bad
        result.summary = summary
    result.seconds = answers[-1].seconds
    return result


IDLE_CONNECTIONS = 200


@case(200, f"{IDLE_CONNECTIONS} idle connections (half of them with a partial request line) held 1 s; readiness meanwhile",
      wait=1.0)
def idle_connections(port):
    start = time.monotonic()
    socks = []
    try:
        for i in range(IDLE_CONNECTIONS):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            if i % 2:
                s.sendall(b"POST " + CLASSIFY.encode() + b" HTTP/1.1\r\n")
            socks.append(s)
        during = one(port, "GET", "/v2/health/ready", None, None)
        time.sleep(max(0.0, 1.0 - (time.monotonic() - start)))
    except OSError as e:
        during = Answer(note=f"connection {len(socks)} failed: {e}")
    finally:
        for s in socks:
            s.close()
    after = one(port, "GET", "/v2/health/ready", None, None)
    result = during if during.status != 200 else after
    result.summary = f"{len(socks)} held; ready during: {during.status or during.note}, after: {after.status or after.note}"
    result.seconds = time.monotonic() - start
    return result


# --- found by an attacker's review after the first round of fixes ------------------------------
# (Each was answered, but took more memory, CPU or capacity than a request may.)

def cached(name, make):
    """Bytes made once and kept under .cache/adversarial (large images take seconds to encode)."""
    path = os.path.join(CACHE, name)
    if not os.path.exists(path):
        os.makedirs(CACHE, exist_ok=True)
        with open(path + ".tmp", "wb") as f:
            f.write(make())
        os.replace(path + ".tmp", path)
    return open(path, "rb").read()


def gradient_6300():
    from PIL import Image
    import numpy as np
    x = np.linspace(0, 255, 6300, dtype=np.float32)
    g = (np.add.outer(x, x) / 2).astype(np.uint8)
    return Image.fromarray(np.stack([g, g[::-1], g.T], -1), "RGB")


def progressive_cmyk():
    return cached("progressive-cmyk-6300.jpg", lambda: encode(gradient_6300().convert("CMYK"), "JPEG", progressive=True, quality=50))


def progressive_444():
    return cached("progressive-444-6300.jpg", lambda: encode(gradient_6300(), "JPEG", progressive=True, subsampling=0, quality=50))


def exif6_tall():
    def make():
        from PIL import Image
        import numpy as np
        x = np.linspace(0, 255, 19600, dtype=np.float32).astype(np.uint8)
        im = Image.fromarray(np.repeat(x[:, None, None], 2040, axis=1).repeat(3, axis=2), "RGB")
        exif = Image.Exif()
        exif[0x0112] = 6
        return encode(im, "JPEG", quality=50, exif=exif.tobytes())
    return cached("exif6-2040x19600.jpg", make)


def adam7_rgba16_png(w, h):
    c = zlib.compressobj(9)
    out = []
    for x0, y0, dx, dy in [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]:
        pw, ph = (w - x0 + dx - 1) // dx, (h - y0 + dy - 1) // dy
        out += [c.compress(b"\x04" + bytes(pw * 8)) for _ in range(ph)]
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 6, 0, 0, 1))
            + png_chunk(b"IDAT", b"".join(out) + c.flush()) + png_chunk(b"IEND", b""))


def at_once(port, count, send):
    """`count` requests sent together; the answers' statuses in the summary, the worst one returned."""
    answers = [None] * count
    threads = [threading.Thread(target=lambda k=k: answers.__setitem__(k, send(port))) for k in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    worst = max(answers, key=lambda a: (a.status == 0, a.status))
    worst.summary = "statuses " + ",".join(str(a.status) for a in answers)
    return worst


def server_pid(port):
    """The model-server listening on `port` (found by its command line)."""
    for pid in os.listdir("/proc"):
        try:
            cmd = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
        except OSError:
            continue
        if b"serve" in cmd and str(port).encode() in cmd:
            return int(pid)
    raise RuntimeError(f"no server on port {port}")


def rss_mb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@case((200, 413), "progressive CMYK JPEG 6300×6300 (644 KB): libjpeg's whole-image coefficient buffer is 320 MB")
def jpeg_progressive_cmyk(port):
    return classify(port, progressive_cmyk(), "image/jpeg")


@case((200, 413), "progressive 4:4:4 JPEG 6300×6300 (495 KB): a 240 MB coefficient buffer")
def jpeg_progressive_444(port):
    return classify(port, progressive_444(), "image/jpeg")


@case((200, 413), "2040×19600 JPEG with EXIF orientation 6: decoded whole (shorter side < 2048), then turned")
def jpeg_exif6_tall(port):
    return classify(port, exif6_tall(), "image/jpeg")


@case((200, 413), "two progressive CMYK 6300×6300 JPEGs at once (decoding runs on two threads)")
def jpeg_progressive_cmyk_twice(port):
    return at_once(port, 2, lambda p: classify(p, progressive_cmyk(), "image/jpeg"))


@case((400, 413), "one JSON object of 990,000 distinct keys (9.8 MB): ~200 bytes per parsed key")
def json_990000_keys(port):
    return post_json(port, V2, raw=b"{" + b",".join(b'"%x":1' % i for i in range(990000)) + b',"inputs":[]}')


@case((400, 413), "31 bodies of 20,000 small objects each (under MAX_JSON_VALUES, so parsed): the RSS must come back down afterwards")
def json_small_objects_repeated(port):
    pid = server_pid(port)
    before = rss_mb(pid)
    body = b'{"x":[' + b",".join([b'{"%x":1}' % i for i in range(20000)]) + b'],"inputs":[]}'
    for _ in range(30):
        post_json(port, V2, raw=body)
    answer = post_json(port, V2, raw=body)
    time.sleep(0.5)
    after = rss_mb(pid)
    answer.summary = f"RSS {before:.0f} MB before, {after:.0f} MB after"
    if after > before + 40:
        answer.problem = f"RSS stayed {after - before:.0f} MB higher after the requests ({before:.0f} -> {after:.0f} MB)"
    return answer


@case(404, "a flood of cheap failing POSTs (wrk, 32 connections, 3 s, ~100,000 requests): the RSS must not grow with their number")
def post_flood_unknown_model(port):
    # Each POST's body deadline was a Task.sleep, whose memory outlives its cancellation until
    # the deadline (30 s): ~700 bytes per request, 20 MB a second at this rate.
    if not shutil.which("wrk"):
        return Answer(0, {}, b"", note="wrk is not installed", problem="wrk is needed for this class")
    pid = server_pid(port)
    before = rss_mb(pid)
    with tempfile.NamedTemporaryFile(suffix=".json") as body:
        body.write(b'{"inputs":[]}')
        body.flush()
        env = dict(os.environ, BODY_FILE=body.name, CONTENT_TYPE="application/json")
        run = subprocess.run(["wrk", "-t1", "-c32", "-d3s", "-s", os.path.join(ROOT, "bench", "post.lua"),
                              f"http://127.0.0.1:{port}/v2/models/nonexistent/infer"], env=env, capture_output=True, text=True)
    after = rss_mb(pid)
    answer = post_json(port, "/v2/models/nonexistent/infer", {"inputs": []})
    sent = next((line.split()[0] for line in run.stdout.splitlines() if "requests in" in line), "?")
    answer.summary = f"{sent} requests; RSS {before:.0f} MB before, {after:.0f} MB after"
    if after > before + 30:
        answer.problem = f"RSS grew {after - before:.0f} MB over {sent} failed requests ({before:.0f} -> {after:.0f} MB)"
    return answer


@case((200, 413), "32 interlaced 16-bit RGBA PNGs of 3.1 M pixels each (30 KB each): 3.6 s of CPU when counted as plain pixels")
def png_adam7_rgba16_32(port):
    img = b64(adam7_rgba16_png(2040, 1530))
    return post_json(port, V2, {"inputs": [v2_input([32], "BYTES", [img] * 32)]})


@case(200, "four idle connections claiming 16 MiB bodies, then a normal photo: it is served")
def body_claimers_then_photo(port):
    socks = []
    try:
        for _ in range(4):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(request("POST", CLASSIFY, {"Content-Type": "image/jpeg", "Content-Length": 16 << 20}, None) + b"A")
            socks.append(s)
        time.sleep(0.3)
        return classify(port, open(PHOTO, "rb").read(), "image/jpeg")
    finally:
        for s in socks:
            s.close()


@case(200, "V2 binary UINT16 tensor [1,3,224,224]", check=lambda a: None if b"FP32" in a.body else "no FP32 output")
def v2_binary_uint16(port):
    headers, body = v2_binary({"inputs": [{"name": "input", "shape": [1, 3, 224, 224], "datatype": "UINT16",
                                           "parameters": {"binary_data_size": 3 * 224 * 224 * 2}}]}, bytes(3 * 224 * 224 * 2))
    return one(port, "POST", V2, headers, body)


@case(200, "V2 binary BF16 tensor [1,3,224,224]", check=lambda a: None if b"FP32" in a.body else "no FP32 output")
def v2_binary_bf16(port):
    headers, body = v2_binary({"inputs": [{"name": "input", "shape": [1, 3, 224, 224], "datatype": "BF16",
                                           "parameters": {"binary_data_size": 3 * 224 * 224 * 2}}]}, b"\x80\x3f" * (3 * 224 * 224))
    return one(port, "POST", V2, headers, body)


@case(200, "V2 with an empty outputs list: the model's output, as Triton answers",
      check=lambda a: None if b'"logits"' in a.body else "no logits output")
def v2_outputs_empty(port):
    return post_json(port, V2, {"inputs": [v2_image_input()], "outputs": []})


@case(400, "V2 Inference-Header-Content-Length '+5'")
def v2_header_length_plus(port):
    headers, body = v2_binary({"inputs": [v2_image_input()]}, b"", header_value="+5")
    return one(port, "POST", V2, headers, body)


# --- the most each bounded path accepts: answered, within time and memory -----------------------

@case((400,), "V2 JSON data of 999,000 numbers, just under MAX_JSON_VALUES: the largest JSON parse accepted (then the count is wrong)")
def v2_json_at_value_limit(port):
    head = b'{"inputs":[{"name":"input","shape":[1,3,224,224],"datatype":"FP32","data":['
    return post_json(port, V2, raw=head + b",".join([b"0"] * 999_000) + b"]}]}")


@case(200, "V2 binary UINT8 tensor [32,3,224,224] (4.8 MB): the most rows, converted and run in 8 batches",
      check=lambda a: None if b'"shape":[32,1000]' in a.body else "not 32 rows of logits")
def v2_binary_uint8_32_rows(port):
    size = 32 * 3 * 224 * 224
    headers, body = v2_binary({"inputs": [{"name": "input", "shape": [32, 3, 224, 224], "datatype": "UINT8",
                                           "parameters": {"binary_data_size": size}}]}, bytes(size))
    return one(port, "POST", V2, headers, body)


@case(200, "three 5700×5700 PNGs in one request (97 M pixels, just under MAX_REQUEST_PIXELS): the most decoding work accepted",
      check=predictions_check(3))
def png_request_pixel_budget_full(port):
    png = cached("zero-5700x5700.png", lambda: zero_png(5700, 5700))
    boundary = b"limit"
    body = b"".join(b"--limit\r\nContent-Type: image/png\r\n\r\n" + png + b"\r\n" for _ in range(3)) + b"--limit--\r\n"
    return classify(port, body, "multipart/form-data; boundary=limit")


# --- gRPC (inference.GRPCInferenceService on GRPC_PORT) -----------------------------------------
# Each server runs with a gRPC port; a class gets the HTTP port and finds the gRPC one here. A
# status code is reported as the HTTP status it corresponds to (INVALID_ARGUMENT 400, NOT_FOUND
# 404, UNAUTHENTICATED 401, RESOURCE_EXHAUSTED 413, UNAVAILABLE 503, any other failure 500), with
# the status message as the JSON error.

GRPC_PORTS = {}
GRPC_HTTP = {"OK": 200, "INVALID_ARGUMENT": 400, "UNAUTHENTICATED": 401, "NOT_FOUND": 404, "RESOURCE_EXHAUSTED": 413,
             "FAILED_PRECONDITION": 412, "UNAVAILABLE": 503}


def grpc_call(port, request, metadata=None, method="ModelInfer"):
    import grpc
    import tritonclient.grpc.service_pb2_grpc as pb_grpc
    limit = 64 << 20
    channel = grpc.insecure_channel(f"127.0.0.1:{GRPC_PORTS[port]}", options=[
        ("grpc.max_send_message_length", limit), ("grpc.max_receive_message_length", limit)])
    start = time.monotonic()
    try:
        response = getattr(pb_grpc.GRPCInferenceServiceStub(channel), method)(request, metadata=metadata, timeout=CLIENT_TIMEOUT_S)
        return Answer(200, body=response.SerializeToString()[:1 << 20], seconds=time.monotonic() - start)
    except grpc.RpcError as e:
        name, elapsed = e.code().name, time.monotonic() - start
        if name == "CANCELLED":  # the stream was reset after the status (a message refused on its prefix)
            return Answer(note="connection reset", seconds=elapsed)
        return Answer(GRPC_HTTP.get(name, 500), body=json.dumps({"error": f"{name}: {e.details()}"}).encode(), seconds=elapsed)
    finally:
        channel.close()


def grpc_infer(inputs, raw=None, outputs=None, model=MODEL):
    import tritonclient.grpc.service_pb2 as pb
    request = pb.ModelInferRequest(model_name=model)
    for spec in inputs:
        tensor = request.inputs.add(name=spec.get("name", "input"), datatype=spec.get("datatype", "FP32"), shape=spec["shape"])
        if "fp32" in spec:
            tensor.contents.fp32_contents.extend(spec["fp32"])
        if "bytes" in spec:
            tensor.contents.bytes_contents.extend(spec["bytes"])
    for data in raw or []:
        request.raw_input_contents.append(data)
    for name, k in outputs or []:
        out = request.outputs.add(name=name)
        if k is not None:
            out.parameters["classification"].int64_param = k
    return request


@case({400, 413}, "gRPC FP32 shape [2^62,3,224,224] with 4 raw bytes: the element count overflows Int")
def grpc_shape_overflow(port):
    return grpc_call(port, grpc_infer([{"shape": [4611686018427387904, 3, 224, 224]}], raw=[b"\0" * 4]))


@case(400, "gRPC FP32 shape [-1,3,224,224]")
def grpc_shape_negative(port):
    return grpc_call(port, grpc_infer([{"shape": [-1, 3, 224, 224]}], raw=[b"\0" * 4]))


@case(400, "gRPC two raw_input_contents for one input")
def grpc_raw_count_mismatch(port):
    return grpc_call(port, grpc_infer([{"shape": [1, 3, 224, 224]}], raw=[b"\0" * 602112, b"\0"]))


@case(400, "gRPC FP32 [1,3,224,224] with 10 raw bytes")
def grpc_raw_wrong_size(port):
    return grpc_call(port, grpc_infer([{"shape": [1, 3, 224, 224]}], raw=[b"\0" * 10]))


@case(413, "gRPC BYTES tensor of 100,000 one-byte elements (typed contents)")
def grpc_bytes_100000_elements(port):
    return grpc_call(port, grpc_infer([{"shape": [100000], "datatype": "BYTES", "bytes": [b"x"] * 100000}]))


@case(413, "gRPC 33 PNG images in one BYTES tensor (MAX_ROWS_PER_REQUEST is 32)")
def grpc_bytes_33_images(port):
    return grpc_call(port, grpc_infer([{"shape": [33], "datatype": "BYTES", "bytes": [small_png()] * 33}]))


@case(400, "gRPC 10,000 input tensors")
def grpc_10000_inputs(port):
    return grpc_call(port, grpc_infer([{"shape": [1, 3, 224, 224]}] * 10000))


@case(400, "gRPC 10,000 requested outputs")
def grpc_10000_outputs(port):
    return grpc_call(port, grpc_infer([{"shape": [1], "datatype": "BYTES", "bytes": [small_png()]}], outputs=[("logits", None)] * 10000))


@case(400, "gRPC classification 2^63-1")
def grpc_classification_huge(port):
    return grpc_call(port, grpc_infer([{"shape": [1], "datatype": "BYTES", "bytes": [small_png()]}], outputs=[("logits", 2**63 - 1)]))


@case(404, "gRPC inference on an unknown model")
def grpc_unknown_model(port):
    return grpc_call(port, grpc_infer([{"shape": [1], "datatype": "BYTES", "bytes": [small_png()]}], model="x" * 10000))


@case(400, "gRPC BYTES holding text, not an image")
def grpc_not_an_image(port):
    return grpc_call(port, grpc_infer([{"shape": [1], "datatype": "BYTES", "bytes": [b"hello"]}]))


@case(413, "gRPC BYTES holding a 20000x20000 PNG bomb")
def grpc_png_bomb(port):
    return grpc_call(port, grpc_infer([{"shape": [1], "datatype": "BYTES", "bytes": [bomb_png()]}]))


@case(400, "gRPC FP16 as typed contents (FP16 only goes raw)")
def grpc_fp16_typed(port):
    return grpc_call(port, grpc_infer([{"shape": [1, 3, 224, 224], "datatype": "FP16", "fp32": [0.0]}]))


@case(413, "gRPC message of 17 MiB (MAX_BODY_BYTES is 16 MiB): refused on its length prefix", optional=True)
def grpc_message_over_limit(port):
    return grpc_call(port, grpc_infer([{"shape": [1, 3, 224, 224]}], raw=[b"\0" * (17 * MIB)]))


@case({400, 500}, "gRPC ModelInfer whose body is not a protobuf message (a truncated varint field)")
def grpc_garbage_protobuf(port):
    import grpc
    channel = grpc.insecure_channel(f"127.0.0.1:{GRPC_PORTS[port]}")
    call = channel.unary_unary("/inference.GRPCInferenceService/ModelInfer", request_serializer=None, response_deserializer=None)
    start = time.monotonic()
    try:
        call(b"\x0a\xff\xff\xff\xff\x0f", timeout=CLIENT_TIMEOUT_S)
        return Answer(200, seconds=time.monotonic() - start)
    except grpc.RpcError as e:
        status = GRPC_HTTP.get(e.code().name, 500)
        # What the transport answers for a message it cannot decode is grpc-swift's choice; the
        # class asks that it is an answer, not a crash, and reports INTERNAL as a finding.
        problem = "" if status == 400 else f"answered {e.code().name} ({e.details()}), not INVALID_ARGUMENT"
        return Answer(400 if status == 500 else status, body=json.dumps({"error": e.details() or e.code().name}).encode(),
                      seconds=time.monotonic() - start, problem=problem)
    finally:
        channel.close()


@case(200, "gRPC FP32 [27,3,224,224] as typed fp32_contents (4 M floats, 16 MB): the largest typed tensor accepted")
def grpc_fp32_typed_at_limit(port):
    return grpc_call(port, grpc_infer([{"shape": [27, 3, 224, 224], "fp32": [0.0] * (27 * 150528)}]))


@case(200, "gRPC 32 photos in one BYTES tensor (the row limit)")
def grpc_32_photos(port):
    return grpc_call(port, grpc_infer([{"shape": [32], "datatype": "BYTES", "bytes": [photo_jpeg()] * 32}], outputs=[("logits", 1)]))


def grpc_raw_call(port, path, message_length, payload, timeout=None, metadata=()):
    """One gRPC call written frame by frame (h2): a 5-byte prefix claiming `message_length` bytes,
    then `payload` (possibly less); the answer is the grpc-status the server sends, as a status."""
    import h2.config
    import h2.connection
    import h2.events
    sock = socket.create_connection(("127.0.0.1", GRPC_PORTS[port]), timeout=1)
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    sock.sendall(conn.data_to_send())
    stream = conn.get_next_available_stream_id()
    conn.send_headers(stream, [(":method", "POST"), (":scheme", "http"), (":path", path), (":authority", "x"),
                               ("content-type", "application/grpc"), ("te", "trailers"), *metadata])
    pending = b"\0" + struct.pack(">I", message_length) + payload
    start, deadline = time.monotonic(), time.monotonic() + (timeout or CLIENT_TIMEOUT_S)
    codes = {"4": 408, "8": 413, "14": 503, "3": 400, "16": 401}
    try:
        while time.monotonic() < deadline:
            window = min(conn.local_flow_control_window(stream), conn.max_outbound_frame_size) if pending else 0
            if window > 0:
                conn.send_data(stream, pending[:window])
                pending = pending[window:]
            sock.sendall(conn.data_to_send())
            try:
                data = sock.recv(65536)
            except socket.timeout:
                continue
            if not data:
                return Answer(note="closed", seconds=time.monotonic() - start)
            for event in conn.receive_data(data):
                if isinstance(event, (h2.events.ResponseReceived, h2.events.TrailersReceived)):
                    headers = {k.decode() if isinstance(k, bytes) else k: v.decode() if isinstance(v, bytes) else v for k, v in event.headers}
                    if "grpc-status" in headers:
                        status = codes.get(headers["grpc-status"], 200 if headers["grpc-status"] == "0" else 500)
                        return Answer(status, body=json.dumps({"error": headers.get("grpc-message", "")}).encode(),
                                      seconds=time.monotonic() - start)
            sock.sendall(conn.data_to_send())
        return Answer(note="timed out", seconds=time.monotonic() - start)
    finally:
        sock.close()


@case(408, "gRPC ModelInfer whose message claims 100,000 bytes and sends 1,000, then stalls (BODY_TIMEOUT_SECONDS=2)",
      server="aux", wait=BODY_TIMEOUT_S)
def grpc_message_stalled(port):
    return grpc_raw_call(port, "/inference.GRPCInferenceService/ModelInfer", 100000, b"\0" * 1000, metadata=[("authorization", "Bearer secret")])


@case(401, "gRPC ModelInfer without a key, its message stalled: refused on its headers, before the message", server="aux")
def grpc_no_key_stalled(port):
    return grpc_raw_call(port, "/inference.GRPCInferenceService/ModelInfer", 100000, b"\0" * 1000)


@case(413, "gRPC ServerLive with a 200 KB message (methods other than ModelInfer take 64 KiB)")
def grpc_probe_200kb(port):
    return grpc_raw_call(port, "/inference.GRPCInferenceService/ServerLive", 200000, b"\0" * 200000)


@case(401, "gRPC inference without an API key (server with API_KEYS)", server="aux")
def grpc_no_key(port):
    return grpc_call(port, grpc_infer([{"shape": [1], "datatype": "BYTES", "bytes": [small_png()]}]))


@case(401, "gRPC inference with a wrong key in authorization metadata", server="aux")
def grpc_wrong_key(port):
    return grpc_call(port, grpc_infer([{"shape": [1], "datatype": "BYTES", "bytes": [small_png()]}]), metadata=[("authorization", "Bearer nope")])


# --- the second server: API keys, BODY_TIMEOUT_SECONDS=2, IDLE_TIMEOUT_SECONDS=3, JPEGMEM=1000 ----------

@case(401, "prediction without an API key (server with API_KEYS)", server="aux")
def auth_missing_key(port):
    return classify(port, small_png(), "image/png")


@case(401, "prediction with a wrong API key", server="aux")
def auth_wrong_key(port):
    return one(port, "POST", CLASSIFY, {"Content-Type": "image/png", "Authorization": "Bearer wrong"}, small_png())


@case({400, 401, 413, 431}, "prediction with a 60 KB API key", server="aux")
def auth_huge_key(port):
    return one(port, "POST", CLASSIFY, {"Content-Type": "image/png", "X-API-Key": "k" * 60000}, small_png())


@case(408, "body trickled 10 bytes every 0.25 s (BODY_TIMEOUT_SECONDS=2)", server="aux", wait=BODY_TIMEOUT_S)
def body_trickle(port):
    head = request("POST", CLASSIFY, {"Content-Type": "image/png", "Content-Length": 100000, "X-API-Key": "secret"}, None)
    return exchange(port, [head] + [b"\0" * 10, 0.25] * 60)[0]


@case(408, "body stalled after 100 bytes (BODY_TIMEOUT_SECONDS=2)", server="aux", wait=BODY_TIMEOUT_S)
def body_stalled(port):
    head = request("POST", CLASSIFY, {"Content-Type": "image/png", "Content-Length": 100000, "X-API-Key": "secret"}, None)
    return exchange(port, [head, b"\0" * 100])[0]


@case(413, "progressive 2000×1500 JPEG past libjpeg's own cap (JPEGMEM=1000 on this server): refused, not allocated", server="aux")
def jpeg_past_libjpeg_cap(port):
    from PIL import Image
    image = Image.open(PHOTO).convert("RGB").resize((2000, 1500))
    return one(port, "POST", CLASSIFY, {"Content-Type": "image/jpeg", "X-API-Key": "secret"}, encode(image, "JPEG", progressive=True, quality=80))


@case({400, 408, 431}, "request head trickled one byte every 0.25 s (IDLE_TIMEOUT_SECONDS=3): the connection is closed",
      server="aux", wait=BODY_TIMEOUT_S, optional=True)
def head_trickle(port):
    head = request("POST", CLASSIFY, {"Content-Type": "image/png", "Content-Length": 10, "X-API-Key": "secret", "X-Pad": "a" * 60}, None)
    return exchange(port, [piece for b in head for piece in (bytes([b]), 0.25)])[0]


# ---------------------------------------------------------------------------------------------

class Server:
    """A Replica restarted after a crash, a hang or a memory blow-up, so each class meets a fresh one."""

    def __init__(self, binary, name, work, env=None):
        self.binary, self.name, self.work, self.env = binary, name, work, env
        self.replica, self.restarts, self.deaths = None, 0, []

    def start(self):
        grpc_port = free_port()
        self.replica = Replica(self.binary, self.name, self.work, {**(self.env or {}), "GRPC_PORT": str(grpc_port)}).start()
        self.replica.wait_ready(120)
        GRPC_PORTS[self.replica.port] = grpc_port
        return self

    @property
    def pid(self):
        return self.replica.process.pid

    @property
    def port(self):
        return self.replica.port

    def alive(self):
        return self.replica.process.poll() is None

    def exit_description(self):
        rc = self.replica.process.returncode
        if rc is None:
            return "running"
        return f"killed by {signal.Signals(-rc).name}" if rc < 0 else f"exit code {rc}"

    def crash_reason(self, offset):
        """The fatal error and the first frame in Sources/ from the log written since `offset`."""
        with open(self.replica.log_path, "rb") as f:
            f.seek(offset)
            text = f.read().decode("utf-8", "replace")
        reason = re.search(r"Fatal error: .*|Program crashed: .*", text)
        crashed = re.search(r"crashed:\n(.*?)(\nThread |\nRegisters:|$)", text, re.S)
        own = r" in model-server at " + re.escape(ROOT) + r"/(Sources/\S+?\.swift:\d+)"
        frame = re.search(own, crashed.group(1)) if crashed else None
        parts = [m.group(0).strip().rstrip("*").strip() for m in (reason,) if m] + [f"at {m.group(1)}" for m in (frame,) if m]
        return ": " + " ".join(parts) if parts else ""

    def restart(self):
        if self.alive():
            self.replica.process.kill()
            self.replica.process.wait()
        self.restarts += 1
        self.start()

    def stop(self):
        if self.replica:
            self.replica.stop()

    def reset_peak(self):
        try:
            with open(f"/proc/{self.pid}/clear_refs", "w") as f:
                f.write("5")
        except OSError:
            pass

    def status_kb(self, key):
        try:
            with open(f"/proc/{self.pid}/status") as f:
                for line in f:
                    if line.startswith(key + ":"):
                        return int(line.split()[1])
        except OSError:
            pass
        return 0


class Watchdog:
    """Samples the server's RSS during a class; SIGKILLs it above the safety valve."""

    def __init__(self, server, kill_mb):
        self.server, self.kill_mb, self.peak_kb, self.killed = server, kill_mb, 0, False
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.loop, daemon=True)

    def loop(self):
        while not self.stopping.wait(0.01):
            kb = self.server.status_kb("VmRSS")
            self.peak_kb = max(self.peak_kb, kb)
            if kb > self.kill_mb * 1024 and self.server.alive():
                self.killed = True
                try:
                    os.kill(self.server.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        self.thread.join()


def run_case(c, server, slow, kill_mb):
    time_bound = TIME_BOUND_S * slow + c.wait
    log_offset = os.path.getsize(server.replica.log_path)
    server.reset_peak()
    start = time.monotonic()
    with Watchdog(server, kill_mb) as dog:
        try:
            answer = c.run(server.port)
        except Exception as e:  # a bug in the suite must not pass for a server finding
            answer = Answer(note=f"client error: {type(e).__name__}: {e}", problem="the suite itself failed")
        hwm_kb = server.status_kb("VmHWM") if server.alive() else 0
    elapsed = answer.seconds or (time.monotonic() - start)
    peak_mb = max(hwm_kb, dog.peak_kb) / 1024
    problems = []
    # Still answering? A crashing Swift process prints its backtrace for a few seconds before it
    # exits: wait for that, so that the class is reported as the crash it is.
    healthy = server.alive() and get_status(server.port, "/v2/health/live", timeout=2 * slow) == 200
    if not healthy:
        try:
            server.replica.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pass
    alive = server.alive()
    if dog.killed:
        problems.append(f"RSS passed the {kill_mb} MB safety valve: killed by the suite")
    elif not alive:
        problems.append(f"the server died ({server.exit_description()}{server.crash_reason(log_offset)})")
    if answer.problem:
        problems.append(answer.problem)
    if answer.status == 0:
        if not (c.optional and alive and answer.note in ("closed", "connection reset")):
            problems.append(f"no answer ({answer.note})")
    elif answer.status >= 500:
        problems.append(f"{answer.status}: a server error")
    elif answer.status not in c.expect:
        problems.append(f"status {answer.status}, expected {fmt_expect(c.expect)}")
    if 400 <= answer.status < 500:
        try:
            obj = json.loads(answer.body)
            if not isinstance(obj, dict) or not isinstance(obj.get("error"), str):
                problems.append("4xx body is JSON without an \"error\" string")
        except ValueError:
            problems.append(f"4xx body is not JSON: {answer.body[:40]!r}")
    if answer.status == 200 and c.check:
        why = c.check(answer)
        if why:
            problems.append(why)
    if elapsed > time_bound:
        problems.append(f"took {elapsed:.1f} s (bound {time_bound:.1f} s)")
    if peak_mb > RSS_BOUND_MB:
        problems.append(f"peak RSS {peak_mb:.0f} MB (bound {RSS_BOUND_MB} MB)")
    # A server that stopped answering, is busy with an abandoned request, or was left at a high
    # RSS is replaced, so that the next class is measured alone.
    if alive and not healthy:
        problems.append("the server stopped answering /v2/health/live")
    restarted = False
    if not healthy or answer.status == 0 and not c.optional or peak_mb > RSS_BOUND_MB or elapsed > time_bound:
        server.restart()
        restarted = True
    return {
        "name": c.name, "description": c.description, "server": c.server,
        "expected": fmt_expect(c.expect),
        "status": answer.status, "note": answer.note, "summary": answer.summary,
        "error": answer.error_message(),
        "ms": round(1000 * elapsed, 1), "peak_rss_mb": round(peak_mb, 1),
        "ok": not problems, "problems": problems, "restarted_after": restarted,
    }


def fmt_expect(statuses):
    s = set(statuses)
    out = []
    if ALL_4XX <= s:
        s -= ALL_4XX
        out.append("4xx")
    return "/".join([str(x) for x in sorted(s)] + out)


def final_check(server, slow):
    """A normal request: the real photo, and the expected top-1 label."""
    expected = None
    top5 = os.path.splitext(PHOTO)[0] + ".top5.json"
    if os.path.exists(top5):
        expected = json.load(open(top5))[0]["label"]
    answer = one(server.port, "POST", CLASSIFY + "?top_k=5", {"Content-Type": "image/jpeg"}, photo_jpeg())
    problems = []
    label = None
    if answer.status != 200:
        problems.append(f"the photo got {answer.status or answer.note}: {answer.error_message()}")
    else:
        try:
            label = json.loads(answer.body)["predictions"][0][0]["label"]
        except (ValueError, KeyError, IndexError, TypeError):
            problems.append("the photo's answer has no predictions")
        if expected and label != expected:
            problems.append(f"the photo's top-1 is {label!r}, expected {expected!r}")
    if answer.seconds > TIME_BOUND_S * slow:
        problems.append(f"the photo took {answer.seconds:.1f} s")
    ready = get_status(server.port, "/v2/health/ready", timeout=5)
    if ready != 200:
        problems.append(f"/v2/health/ready answered {ready}")
    return {"status": answer.status, "top1": label, "expected_top1": expected, "ms": round(1000 * answer.seconds, 1),
            "ready": ready, "ok": not problems, "problems": problems}


def print_header():
    print(f"{'class':34} {'expect':>12} {'got':>6} {'ms':>8} {'RSS MB':>7}  error / problem")


def print_table(rows):
    for r in rows:
        got = str(r["status"]) if r["status"] else "-"
        detail = r["error"] or r["summary"] or r["note"]
        if r["summary"] and r["error"]:
            detail = f"{r['summary']}; {r['error']}"
        line = f"{r['name']:34} {r['expected']:>12} {got:>6} {r['ms']:>8.0f} {r['peak_rss_mb']:>7.0f}  {detail[:70]}"
        if not r["ok"]:
            line += "\n" + " " * 36 + "FAIL: " + "; ".join(r["problems"])
        print(line, flush=True)


def main():
    global CLIENT_TIMEOUT_S
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=None, help="model-server to test (default: the newest build, release first)")
    parser.add_argument("--json", help="also write the per-class figures here")
    parser.add_argument("--slow", type=float, default=float(os.environ.get("ADVERSARIAL_SLOW", "1")),
                        help="multiply the time bounds (only for developing against a debug build)")
    parser.add_argument("--only", help="comma-separated class names to run (development)")
    parser.add_argument("--list", action="store_true", help="list the classes and exit")
    parser.add_argument("--kill-rss-mb", type=int, default=KILL_RSS_MB, help="safety valve: SIGKILL the server above this RSS")
    args = parser.parse_args()

    if args.list:
        for c in CASES:
            print(f"{c.name:34} {fmt_expect(c.expect):>12}  {c.description}")
        print(f"{len(CASES)} classes")
        return
    cases = CASES
    if args.only:
        wanted = set(args.only.split(","))
        unknown = wanted - {c.name for c in CASES}
        if unknown:
            raise SystemExit(f"unknown classes: {', '.join(sorted(unknown))}")
        cases = [c for c in CASES if c.name in wanted]
    binary = args.binary or default_binary()
    CLIENT_TIMEOUT_S *= max(1.0, args.slow)

    print(f"{binary}; bounds: {TIME_BOUND_S * args.slow:.1f} s, {RSS_BOUND_MB} MB peak RSS; {len(cases)} classes", flush=True)
    # Built before the servers start: the 20000x20000 bomb takes ~2 s to compress the first time.
    for payload in (photo, bomb_png, big_png, many_scans_jpeg, iccp_bomb_png):
        payload()

    work = tempfile.mkdtemp(prefix="adversarial-test-")
    servers = {"main": Server(binary, "server", work)}
    rows, figures, started = [], {}, time.monotonic()
    try:
        servers["main"].start()
        figures["idle_rss_mb"] = round(servers["main"].status_kb("VmRSS") / 1024, 1)
        print_header()
        for c in cases:
            if c.server not in servers:
                servers[c.server] = Server(binary, c.server, work, AUX_ENV).start()
            rows.append(run_case(c, servers[c.server], args.slow, args.kill_rss_mb))
            print_table(rows[-1:])
        final = final_check(servers["main"], args.slow)
    finally:
        for s in servers.values():
            s.stop()

    figures.update({
        "binary": binary,
        "bounds": {"rss_mb": RSS_BOUND_MB, "seconds": TIME_BOUND_S * args.slow, "slow": args.slow},
        "classes": len(rows),
        "failed": sum(not r["ok"] for r in rows),
        "max_rss_mb": max((r["peak_rss_mb"] for r in rows), default=0),
        "max_rss_class": max(rows, key=lambda r: r["peak_rss_mb"])["name"] if rows else None,
        "max_ms": max((r["ms"] for r in rows), default=0),
        "max_ms_class": max(rows, key=lambda r: r["ms"])["name"] if rows else None,
        "restarts": {name: s.restarts for name, s in servers.items()},
        "final": final,
        "wall_seconds": round(time.monotonic() - started, 1),
    })
    print(f"\n{figures['classes']} classes, {figures['failed']} failed; max peak RSS {figures['max_rss_mb']} MB "
          f"({figures['max_rss_class']}), max time {figures['max_ms']:.0f} ms ({figures['max_ms_class']}); "
          f"final request: {final['status']} top-1 {final['top1']!r}; {figures['wall_seconds']} s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({**figures, "results": rows}, f, indent=2)
    problems = [f"{r['name']}: {'; '.join(r['problems'])}" for r in rows if not r["ok"]]
    problems += [f"final request: {p}" for p in final["problems"]]
    summary = {k: figures[k] for k in ("classes", "failed", "max_rss_mb", "max_rss_class", "max_ms", "max_ms_class", "restarts", "wall_seconds")}
    finish(summary, problems, work)


if __name__ == "__main__":
    main()
