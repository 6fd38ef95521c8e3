"""gRPC ModelInfer with raw tensors against REST with the binary tensor extension and REST with
JSON, on the same server, model and input, in one run (`bench/protocols`).

Each scenario sends the real photo's preprocessed 1×3×224×224 FP32 tensor with Triton's own
clients (tritonclient.grpc, tritonclient.http with and without binary data) from N client
processes (1, 8, 32 "connections", each process its own connection), for a fixed time, after a
warm-up; scenarios alternate protocols round by round. Reported per protocol and level:
throughput, latency percentiles, and the server's CPU time per request (from /proc/PID/stat), which
is what the protocol costs the server. The clients run on the same cores as the server (these
machines have 2), so throughput at high concurrency is shared with them; the server's CPU per
request is not.

Writes the "Protocols" section of docs/benchmarks.md (between its markers), or with --smoke a
short run into .cache/bench-smoke/protocols.md.
"""
import argparse
import json
import multiprocessing as mp
import os
import platform
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
MODEL_DIR = os.path.join(ROOT, "models", "efficientnet-lite0")
PHOTO = os.path.join(ROOT, ".cache", "images", "rocket.jpg")
PROTOCOLS = ["grpc raw", "rest binary", "rest json"]
sys.path.insert(0, os.path.join(ROOT, "Tests", "Reliability"))
from common import free_port  # noqa: E402
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sections  # noqa: E402
from sections import machine  # noqa: E402


def tensor():
    sys.path.insert(0, MODEL_DIR)
    import check_model
    from PIL import Image
    manifest = json.load(open(os.path.join(MODEL_DIR, "model.json")))
    return check_model.preprocess(Image.open(PHOTO), manifest).astype(np.float32)


def worker(protocol, grpc_url, http_url, x, start_at, warmup_until, stop_at, results):
    """One client connection: requests back to back until `stop_at`; latencies after the warm-up."""
    if protocol == "grpc raw":
        import tritonclient.grpc as client_lib
        client = client_lib.InferenceServerClient(grpc_url)
        inp = client_lib.InferInput("input", list(x.shape), "FP32")
        inp.set_data_from_numpy(x)
        call = lambda: client.infer("efficientnet-lite0", [inp]).as_numpy("logits")  # noqa: E731
    else:
        import tritonclient.http as client_lib
        binary = protocol == "rest binary"
        client = client_lib.InferenceServerClient(http_url)
        inp = client_lib.InferInput("input", list(x.shape), "FP32")
        inp.set_data_from_numpy(x, binary_data=binary)
        out = [client_lib.InferRequestedOutput("logits", binary_data=binary)]
        call = lambda: client.infer("efficientnet-lite0", [inp], outputs=out).as_numpy("logits")  # noqa: E731
    while time.time() < start_at:
        time.sleep(0.001)
    latencies, errors = [], 0
    while time.time() < stop_at:
        t0 = time.perf_counter()
        try:
            logits = call()
            ok = logits.shape == (1, 1000)
        except Exception:
            ok = False
        t1 = time.perf_counter()
        if time.time() >= warmup_until:
            if ok:
                latencies.append(t1 - t0)
            else:
                errors += 1
    results.put((latencies, errors))


def server_cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(protocol, connections, seconds, warmup, grpc_url, http_url, x, pid):
    results = mp.Queue()
    start = time.time() + 1.0
    warmup_until, stop = start + warmup, start + warmup + seconds
    procs = [mp.Process(target=worker, args=(protocol, grpc_url, http_url, x, start, warmup_until, stop, results)) for _ in range(connections)]
    for p in procs:
        p.start()
    while time.time() < warmup_until:
        time.sleep(0.01)
    cpu0 = server_cpu_seconds(pid)
    while time.time() < stop:
        time.sleep(0.01)
    cpu1 = server_cpu_seconds(pid)
    latencies, errors = [], 0
    for _ in procs:
        lat, err = results.get()
        latencies += lat
        errors += err
    for p in procs:
        p.join()
    return {"latencies": latencies, "errors": errors, "seconds": seconds, "cpu": cpu1 - cpu0}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=os.path.join(ROOT, ".build-static", "release", "model-server"))
    ap.add_argument("--seconds", type=float, default=8)
    ap.add_argument("--warmup", type=float, default=2)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--concurrency", default="1,8,32")
    ap.add_argument("--smoke", action="store_true", help="one short round, into .cache/bench-smoke (CI)")
    args = ap.parse_args()
    if args.smoke:
        args.seconds, args.warmup, args.rounds = 1.0, 0.5, 1
    levels = [int(c) for c in args.concurrency.split(",")]
    x = tensor()
    http_port, grpc_port = free_port(), free_port()
    # Room for 32 JSON bodies (1.8 MB each) at once: the default 64 MiB budget sheds some with 503.
    env = dict(os.environ, GRPC_PORT=str(grpc_port), MAX_CONCURRENT_REQUESTS="256", MAX_BUFFERED_BODY_BYTES=str(256 << 20))
    server = subprocess.Popen([args.binary, "serve", "--host", "127.0.0.1", "--port", str(http_port), "--model-dir", MODEL_DIR,
                               "--log-level", "warning"], env=env)
    try:
        import urllib.request
        for _ in range(600):
            try:
                if urllib.request.urlopen(f"http://127.0.0.1:{http_port}/v2/health/ready", timeout=1).status == 200:
                    break
            except OSError:
                time.sleep(0.1)
        grpc_url, http_url = f"127.0.0.1:{grpc_port}", f"127.0.0.1:{http_port}"
        totals = {(p, c): {"latencies": [], "errors": 0, "seconds": 0.0, "cpu": 0.0} for p in PROTOCOLS for c in levels}
        for _ in range(args.rounds):
            for c in levels:
                for p in PROTOCOLS:
                    r = run(p, c, args.seconds, args.warmup, grpc_url, http_url, x, server.pid)
                    t = totals[(p, c)]
                    t["latencies"] += r["latencies"]
                    t["errors"] += r["errors"]
                    t["seconds"] += r["seconds"]
                    t["cpu"] += r["cpu"]
                    print(f"{p:12} c={c:<3} {len(r['latencies']) / r['seconds']:7.1f} req/s  errors {r['errors']}", flush=True)
    finally:
        server.terminate()
        server.wait(timeout=60)
    failed = {k: t["errors"] for k, t in totals.items() if t["errors"] or not t["latencies"]}
    if failed:
        raise SystemExit(f"requests failed: {failed}")
    rows = []
    for c in levels:
        base = len(totals[("rest json", c)]["latencies"]) / totals[("rest json", c)]["seconds"]
        for p in PROTOCOLS:
            t = totals[(p, c)]
            n = len(t["latencies"])
            lat = np.array(t["latencies"]) * 1000
            rps = n / t["seconds"]
            rows.append(f"| {c} | {p} | {rps:.1f} | {rps / base:.2f} | {np.percentile(lat, 50):.1f} / {np.percentile(lat, 99):.1f} | "
                        f"{1000 * t['cpu'] / n:.1f} |")
    body = "\n".join([
        "## Protocols: gRPC raw tensors vs REST binary vs REST JSON",
        "",
        f"Written by `bench/protocols` on {time.strftime('%Y-%m-%d')} ({machine()}; Python {platform.python_version()}). "
        f"The same server (release build), model and input — the photo's preprocessed 1×3×224×224 FP32 tensor — "
        f"sent with Triton's clients: `tritonclient.grpc` (`raw_input_contents`), `tritonclient.http` with the binary tensor "
        f"extension, and `tritonclient.http` with JSON. Each client connection is its own process; {args.rounds} rounds of "
        f"{args.warmup:g} s warm-up + {args.seconds:g} s measured, protocols alternating. The clients share the server's cores, "
        f"so throughput at 8 and 32 connections is partly the clients' cost (JSON encoding 150,528 floats in Python is "
        f"most of it); *server CPU per request* is the server's own cost of each protocol. Every request succeeded.",
        "",
        "| connections | protocol | req/s | vs REST JSON | p50 / p99 ms | server CPU ms / request |",
        "|---:|---|---:|---:|---:|---:|",
        *rows,
    ])
    sections.write("protocols", body, args.smoke)


if __name__ == "__main__":
    main()
