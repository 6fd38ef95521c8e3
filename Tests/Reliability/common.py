"""Shared parts of the reliability tests: replicas of the real binary, a load generator, figures."""
import http.client
import os
import signal
import socket
import statistics
import subprocess
import threading
import time
from dataclasses import dataclass, field

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MODEL_DIR = os.path.join(ROOT, "models", "efficientnet-lite0")
PHOTO = os.path.join(ROOT, ".cache", "images", "rocket.jpg")  # a real 640×427 photo
CLASSIFY = "/v1/models/efficientnet-lite0:classify"


def default_binary():
    for path in (".build-static/release/model-server", ".build/release/model-server", ".build/debug/model-server"):
        if os.path.exists(os.path.join(ROOT, path)):
            return os.path.join(ROOT, path)
    raise SystemExit("no model-server binary: run `make test` or `swift build -c release`")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_status(port, path, timeout=1.0):
    """Status of GET path on 127.0.0.1:port, or None if the connection failed."""
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        conn.request("GET", path)
        status = conn.getresponse().status
        conn.close()
        return status
    except OSError:
        return None


class Replica:
    """One `model-server serve` process on its own port; its log goes to a file."""

    def __init__(self, binary, name, log_dir, env=None):
        self.binary, self.name, self.port = binary, name, free_port()
        self.log_path = os.path.join(log_dir, f"{name}.log")
        # Several replicas share this host: the gRPC port is off unless a test asks for it.
        self.env = {**os.environ, "GRPC_PORT": "0", **(env or {})}
        self.process = None

    def start(self):
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [self.binary, "serve", "--host", "127.0.0.1", "--port", str(self.port), "--model-dir", MODEL_DIR],
            env=self.env, stdout=log, stderr=log)
        self.started = time.monotonic()
        return self

    def wait_ready(self, seconds=60):
        """Polls /v2/health/ready; returns the monotonic time of the first 200."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}; see {self.log_path}")
            if get_status(self.port, "/v2/health/ready", timeout=0.5) == 200:
                return time.monotonic()
            time.sleep(0.02)
        raise RuntimeError(f"{self.name} not ready after {seconds} s")

    def signal(self, sig):
        self.process.send_signal(sig)

    def wait_exit(self, seconds=30):
        return self.process.wait(timeout=seconds)

    def rss_mb(self):
        with open(f"/proc/{self.process.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return 0.0

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()


@dataclass
class Result:
    start: float          # when the request was due (monotonic), so queueing in the client counts
    end: float
    status: int           # 0: connection error
    error: str = ""
    server: str = ""      # haproxy's X-Served-By
    retry_after: str = ""


@dataclass
class Load:
    """Posts the photo to `path` from client threads with keep-alive connections.

    Closed loop (`concurrency` clients back to back) when `rate` is None; otherwise open loop:
    requests are due at a fixed rate whether or not earlier ones have finished.
    """
    port: int
    path: str = CLASSIFY
    concurrency: int = 4
    rate: float | None = None
    results: list = field(default_factory=list)

    def __post_init__(self):
        with open(PHOTO, "rb") as f:
            self.body = f.read()
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.local = threading.local()

    def one(self, due):
        conn = getattr(self.local, "conn", None)
        try:
            if conn is None:
                conn = self.local.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            conn.request("POST", self.path, body=self.body, headers={"Content-Type": "image/jpeg"})
            response = conn.getresponse()
            response.read()
            result = Result(due, time.monotonic(), response.status, server=response.getheader("X-Served-By", ""),
                            retry_after=response.getheader("Retry-After", ""))
            if response.getheader("Connection", "").lower() == "close":
                conn.close()
                self.local.conn = None
        except (OSError, http.client.HTTPException) as e:
            result = Result(due, time.monotonic(), 0, error=f"{type(e).__name__}: {e}")
            if conn is not None:
                conn.close()
            self.local.conn = None
        with self.lock:
            self.results.append(result)

    def closed_loop(self):
        while not self.stopping.is_set():
            self.one(time.monotonic())

    def open_loop(self, workers):
        """Dispatches due requests to a pool of worker threads through a queue."""
        import queue
        due = queue.Queue()

        def worker():
            while True:
                t = due.get()
                if t is None:
                    return
                self.one(t)

        threads = [threading.Thread(target=worker, daemon=True) for _ in range(workers)]
        for t in threads:
            t.start()
        start, n = time.monotonic(), 0
        while not self.stopping.is_set():
            t = start + n / self.rate
            delay = t - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            due.put(t)
            n += 1
        for _ in threads:
            due.put(None)
        for t in threads:
            t.join()

    def start(self, workers=256):
        if self.rate is None:
            self.threads = [threading.Thread(target=self.closed_loop, daemon=True) for _ in range(self.concurrency)]
        else:
            self.threads = [threading.Thread(target=self.open_loop, args=(workers,), daemon=True)]
        for t in self.threads:
            t.start()
        return self

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join()
        return self.results


def between(results, t0, t1):
    return [r for r in results if t0 <= r.start < t1]


def percentile(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def latency_ms(results, p):
    return 1000 * percentile([r.end - r.start for r in results], p)


def failures(results):
    return [r for r in results if not 200 <= r.status < 300]


def describe(results):
    bad = failures(results)
    kinds = statistics.multimode([r.error or str(r.status) for r in bad]) if bad else []
    return f"{len(results)} requests, {len(bad)} failed" + (f" (mostly {kinds[0]})" if kinds else "")


def finish(figures, problems, work, json_path=None):
    """Prints the figures (and writes them to `json_path`); exits 1 with the problems, if any,
    keeping the logs in `work`, else removes `work`."""
    import json
    import shutil
    import sys
    print(json.dumps(figures, indent=2))
    if json_path:
        with open(json_path, "w") as f:
            json.dump(figures, f, indent=2)
    if problems:
        print("FAILED:\n  " + "\n  ".join(problems), file=sys.stderr)
        print(f"logs in {work}", file=sys.stderr)
        sys.exit(1)
    shutil.rmtree(work, ignore_errors=True)
