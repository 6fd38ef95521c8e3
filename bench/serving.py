#!/usr/bin/env python3
"""The Swift server against the Flask design it replaces, side by side in one run (`bench/run`).

Both serve models/efficientnet-lite0 on this machine's cores, and both serve the int8 model
(models/efficientnet-lite0-int8; the peer runs onnxruntime on the same file); wrk posts a real
640×427 JPEG to `POST /score` (base64 in JSON) and to `:classify` (raw bytes) at each
concurrency, taking the four servers in turn (A B C D A B C D) after a warm-up. Also measured: start to ready, memory at idle and under
load, the peer's worker/thread configurations, the engine alone (bench/engine), model-fetch vs
curl (bench/fetch), and image sizes. Refuses to report if any request failed.
"""
import argparse
import base64
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL = os.path.join(ROOT, "models", "efficientnet-lite0")
MODEL_INT8 = os.path.join(ROOT, "models", "efficientnet-lite0-int8")
PHOTO = os.path.join(ROOT, ".cache", "images", "rocket.jpg")
# The contenders, measured in turn in this order: ours and the peer on fp32, then on int8.
CONTENDERS = ("swift", "flask", "swift-int8", "flask-int8")


def classify_path(model):
    return f"/v1/models/{os.path.basename(model)}:classify"


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A server process (tree) on a port: ours, or gunicorn with its workers."""

    def __init__(self, name, command, env, model):
        self.name, self.port, self.model = name, free_port(), model
        self.paths = {"score": "/score", "classify": classify_path(model)}
        self.command = [c.replace("{port}", str(self.port)) for c in command]
        self.env = dict(os.environ, **env)

    def start(self):
        self.log = tempfile.TemporaryFile()
        self.t0 = time.monotonic()
        self.process = subprocess.Popen(self.command, env=self.env, stdout=self.log, stderr=self.log, cwd=ROOT)
        while time.monotonic() - self.t0 < 120:
            if self.process.poll() is not None:
                self.log.seek(0)
                raise SystemExit(f"{self.name} exited: {self.log.read().decode()[-2000:]}")
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
                c.request("GET", "/v2/health/ready")
                if c.getresponse().status == 200:
                    self.ready_s = time.monotonic() - self.t0
                    return self
            except OSError:
                pass
            time.sleep(0.005)
        raise SystemExit(f"{self.name} not ready after 120 s")

    def pids(self):
        found, todo = [], [self.process.pid]
        while todo:
            pid = todo.pop()
            found.append(pid)
            try:
                for task in os.listdir(f"/proc/{pid}/task"):
                    with open(f"/proc/{pid}/task/{task}/children") as f:
                        todo += [int(c) for c in f.read().split()]
            except OSError:
                pass
        return found

    def memory_mb(self):
        """(RSS, PSS) summed over the process tree, in MB. PSS counts forked workers' shared pages once."""
        rss = pss = 0
        for pid in self.pids():
            try:
                with open(f"/proc/{pid}/smaps_rollup") as f:
                    for line in f:
                        if line.startswith("Rss:"):
                            rss += int(line.split()[1])
                        elif line.startswith("Pss:"):
                            pss += int(line.split()[1])
            except OSError:
                pass
        return rss / 1024, pss / 1024

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


def ours(binary, model=MODEL):
    return Server("swift", [binary, "serve", "--host", "127.0.0.1", "--port", "{port}", "--model-dir", model, "--log-level", "warning"],
                  {"GRPC_PORT": "0"}, model)


def peer(workers, threads, ort_threads, model=MODEL):
    gunicorn = os.path.join(ROOT, ".venv-flask", "bin", "gunicorn")
    return Server(f"flask w{workers} t{threads} ort{ort_threads}",
                  [gunicorn, "-w", str(workers), "--threads", str(threads), "-b", "127.0.0.1:{port}", "--chdir", "bench/peers/flask",
                   "--log-level", "warning", "app:app"],
                  {"MODEL_DIR": model, "ORT_THREADS": str(ort_threads), "OMP_NUM_THREADS": str(ort_threads)}, model)


def wait_quiet(idle=0.9, seconds=5, limit=120):
    """Waits until the CPUs have been at least `idle` idle for `seconds`; False if they never were."""
    def sample():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return v[3] + v[4], sum(v)
    start, calm = time.monotonic(), 0
    while time.monotonic() - start < limit:
        i0, t0 = sample()
        time.sleep(1)
        i1, t1 = sample()
        calm = calm + 1 if (i1 - i0) / max(1, t1 - t0) >= idle else 0
        if calm >= seconds:
            return True
    return False


def wrk(server, path, body_file, content_type, connections, seconds):
    """One wrk run; returns its summary, with the peak memory seen during it."""
    env = dict(os.environ, BODY_FILE=body_file, CONTENT_TYPE=content_type)
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "30s", "-s", os.path.join(ROOT, "bench", "post.lua"),
           f"http://127.0.0.1:{server.port}{path}"]
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak = (0.0, 0.0)
    while p.poll() is None:
        rss, pss = server.memory_mb()
        peak = (max(peak[0], rss), max(peak[1], pss))
        time.sleep(0.2)
    out = p.stdout.read()
    line = next((l for l in out.splitlines() if l.startswith("WRK ")), None)
    if p.returncode != 0 or line is None:
        raise SystemExit(f"wrk failed: {out}")
    r = json.loads(line[4:])
    r["errors"] = r["connect"] + r["read"] + r["write"] + r["status"] + r["timeout"]
    r["rps"] = r["requests"] / (r["duration_us"] / 1e6)
    r["rss_mb"], r["pss_mb"] = peak
    return r


def check_answers(servers, bodies):
    """Every server must name the same top class for the photo, on both routes."""
    tops = {}
    for s in servers:
        c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=60)
        c.request("POST", "/score", body=open(bodies["score"][0], "rb").read(), headers={"Content-Type": "application/json"})
        score = json.loads(c.getresponse().read())["result"][0][0][0][0]
        c.request("POST", s.paths["classify"], body=open(PHOTO, "rb").read(), headers={"Content-Type": "image/jpeg"})
        classify = json.loads(c.getresponse().read())["predictions"][0][0]["label"]
        tops[f"{s.name} {os.path.basename(s.model)}"] = (score, classify)
    if len({v for v in tops.values()}) != 1:
        raise SystemExit(f"the servers disagree on the photo: {tops}")
    return next(iter(tops.values()))[0]


def measure_start(make, trials):
    times, idle = [], []
    for _ in range(trials):
        s = make().start()
        time.sleep(1)
        idle.append(s.memory_mb())
        times.append(s.ready_s)
        s.stop()
    return statistics.median(times), max(m[0] for m in idle), max(m[1] for m in idle)


def profile(make, route, body, content_type, seconds):
    """Where our server's CPU time goes at 8 connections: `perf record` on the process, by library
    and by symbol. None when perf is missing or not permitted here."""
    if not shutil.which("perf"):
        return None
    s = make().start()
    path = s.paths[route]
    data = os.path.join(tempfile.gettempdir(), f"bench-perf-{os.getpid()}.data")
    try:
        env = dict(os.environ, BODY_FILE=body, CONTENT_TYPE=content_type)
        load = subprocess.Popen(["wrk", "-t1", "-c8", f"-d{round(seconds) + 3}s", "-s", os.path.join(ROOT, "bench", "post.lua"),
                                 f"http://127.0.0.1:{s.port}{path}"], env=env, stdout=subprocess.DEVNULL)
        time.sleep(1.5)
        rec = subprocess.run(["perf", "record", "-F", "499", "-p", str(s.process.pid), "-o", data, "--", "sleep", str(seconds)],
                             capture_output=True, text=True)
        load.wait()
        if rec.returncode != 0:
            return None
        tables = []
        for keys in ("dso", "dso,sym"):
            out = subprocess.run(["perf", "report", "-i", data, "--no-children", "--sort", keys, "--stdio"], capture_output=True, text=True).stdout
            rows = [l.strip() for l in out.splitlines() if l.strip() and not l.startswith("#") and "%" in l][:10]
            tables.append(rows)
        return tables
    finally:
        s.stop()
        if os.path.exists(data):
            os.unlink(data)


def run_script(args, markdown):
    """Runs bench/engine or bench/fetch; returns its Markdown table. A part that fails fails the run:
    a report with a hole in it (or a smoke run that hides one) is not a result."""
    r = subprocess.run(args + ["--markdown", markdown], cwd=ROOT, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(args[:1])} failed: {r.stderr.strip()[-1000:]}")
    return open(markdown).read().strip()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=os.path.join(ROOT, ".build-static", "release", "model-server"))
    ap.add_argument("--fetch-binary", default=os.path.join(ROOT, ".build-static", "release", "model-fetch"))
    ap.add_argument("--infer-binary", default=os.path.join(ROOT, ".build-static", "release", "model-infer"))
    ap.add_argument("--seconds", type=float, default=10, help="measured seconds per run")
    ap.add_argument("--warmup", type=float, default=2)
    ap.add_argument("--rounds", type=int, default=2, help="A B rounds per scenario")
    ap.add_argument("--concurrency", default="1,8,32,64")
    ap.add_argument("--smoke", action="store_true", help="a few seconds per scenario, into .cache/bench-smoke (CI)")
    ap.add_argument("--out", default=os.path.join(ROOT, "docs"))
    args = ap.parse_args()
    if args.smoke:
        args.seconds, args.warmup, args.rounds, args.concurrency = 2, 1, 1, "1,8"
        args.out = os.path.join(ROOT, ".cache", "bench-smoke")
    os.makedirs(os.path.join(args.out, "benchmarks"), exist_ok=True)
    levels = [int(c) for c in args.concurrency.split(",")]
    work = tempfile.mkdtemp(prefix="bench-")
    jpeg = open(PHOTO, "rb").read()
    score_body = os.path.join(work, "score.json")
    with open(score_body, "w") as f:
        json.dump({"input": [base64.b64encode(jpeg).decode()]}, f)
    bodies = {"score": (score_body, "application/json"), "classify": (PHOTO, "image/jpeg")}
    quiet = wait_quiet(limit=10 if args.smoke else 120)

    # The peer's configuration: the sensible ones for 2 cores, the best at concurrency 8 is used.
    configs = [(2, 1, 1), (1, 4, 2), (2, 2, 1), (4, 1, 1)]
    sweep = []
    if args.smoke:
        best = configs[0]
    else:
        for cfg in configs:
            s = peer(*cfg).start()
            wrk(s, "/score", *bodies["score"], 8, args.warmup)
            r = wrk(s, "/score", *bodies["score"], 8, args.seconds / 2)
            s.stop()
            sweep.append((cfg, r))
        best = max(sweep, key=lambda x: x[1]["rps"] if x[1]["errors"] == 0 else 0)[0]

    make = {"swift": lambda: ours(args.binary), "flask": lambda: peer(*best),
            "swift-int8": lambda: ours(args.binary, MODEL_INT8), "flask-int8": lambda: peer(*best, model=MODEL_INT8)}
    start = {name: measure_start(m, 1 if args.smoke else 3) for name, m in make.items()}
    servers = {name: m().start() for name, m in make.items()}
    results = {}
    try:
        top = check_answers(servers.values(), bodies)
        for route in ("score", "classify"):
            for c in levels:
                for _ in range(args.rounds):
                    for name in CONTENDERS:  # A B C D, A B C D
                        s = servers[name]
                        wrk(s, s.paths[route], *bodies[route], c, args.warmup)
                        time.sleep(0.5)
                        results.setdefault((route, c, name), []).append(wrk(s, s.paths[route], *bodies[route], c, args.seconds))
                        time.sleep(0.5)
    finally:
        for s in servers.values():
            s.stop()
    failed = {k: sum(r["errors"] for r in v) for k, v in results.items() if any(r["errors"] for r in v)}
    if failed:
        raise SystemExit(f"requests failed, not reporting: {failed}")

    extra = {"profile": profile(make["swift"], "classify", PHOTO, "image/jpeg", 3 if args.smoke else 8),
             "profile-int8": profile(make["swift-int8"], "classify", PHOTO, "image/jpeg", 3 if args.smoke else 8)}
    if args.smoke:
        extra["engine"] = run_script(["bench/engine", "--binary", args.infer_binary, "--rounds", "1", "--iters", "2", "--batches", "1", "--threads", "1",
                                      "--no-wait"], os.path.join(work, "engine.md"))
        extra["fetch"] = run_script(["bench/fetch", "--binary", args.fetch_binary, "--megabytes", "20", "--rounds", "1"], os.path.join(work, "fetch.md"))
    else:
        extra["engine"] = run_script(["bench/engine", "--binary", args.infer_binary], os.path.join(work, "engine.md"))
        extra["fetch"] = run_script(["bench/fetch", "--binary", args.fetch_binary], os.path.join(work, "fetch.md"))
    import report
    report.write(args.out, results=results, levels=levels, sweep=sweep, best=best, start=start, top=top, quiet=quiet,
                 extra=extra, settings=vars(args))
    shutil.rmtree(work, ignore_errors=True)
    print(f"wrote {os.path.join(args.out, 'benchmarks.md')}")


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    main()
