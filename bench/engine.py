#!/usr/bin/env python3
"""Engine vs onnxruntime, side by side in one run.

    bench/engine [--model models/efficientnet-lite0/model.onnx] [--rounds 6] [--iters 10]

For batch 1 and 8 and 1 and 2 threads: the Swift engine (`model-infer engine-bench`, started
with OMP_NUM_THREADS) and onnxruntime (same model file and input, intra_op_num_threads, ORT_ENABLE_ALL,
sequential) run alternately, `--rounds` times `--iters` inferences each, after warm-up. Prints a
table of medians and the ratio engine/onnxruntime (below 1 means the engine is faster), and with
--markdown FILE writes it as Markdown too. Waits for the machine to be quiet first.
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

import numpy as np
import onnxruntime as ort

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def cpu_idle_fraction(seconds=1.0):
    def snap():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return v[3] + v[4], sum(v)
    i0, t0 = snap()
    time.sleep(seconds)
    i1, t1 = snap()
    return (i1 - i0) / max(1, t1 - t0)


def wait_for_quiet(threshold=0.9, seconds=10, timeout=300):
    start, quiet = time.time(), 0
    while time.time() - start < timeout:
        idle = cpu_idle_fraction()
        quiet = quiet + 1 if idle >= threshold else 0
        if quiet >= seconds:
            return True
    print(f"warning: the machine did not become quiet (>{threshold:.0%} idle for {seconds} s) within {timeout} s; numbers are noisy",
          file=sys.stderr)
    return False


class Engine:
    def __init__(self, binary, model, input_path, shape, threads):
        env = dict(os.environ, OMP_NUM_THREADS=str(threads))
        self.p = subprocess.Popen([binary, "engine-bench", "--model", model, "--input", input_path, "--shape", ",".join(map(str, shape))],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        ready = self.p.stdout.readline()
        if not ready.startswith("ready"):
            raise SystemExit(f"engine-bench failed to start: {ready!r}")

    def run(self, n):
        self.p.stdin.write(f"run {n}\n")
        self.p.stdin.flush()
        return [float(x) for x in self.p.stdout.readline().split()]

    def close(self):
        self.p.stdin.close()
        self.p.wait()


class OnnxRuntime:
    def __init__(self, model, x, threads):
        o = ort.SessionOptions()
        o.intra_op_num_threads = threads
        o.inter_op_num_threads = 1
        o.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        o.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if os.environ.get("ORT_NO_SPIN"):
            o.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.s = ort.InferenceSession(model, o, providers=["CPUExecutionProvider"])
        self.feeds = {self.s.get_inputs()[0].name: x}

    def run(self, n):
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            self.s.run(None, self.feeds)
            times.append((time.perf_counter() - t0) * 1000)
        return times


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=os.path.join(ROOT, "models/efficientnet-lite0/model.onnx"))
    ap.add_argument("--binary", default=os.path.join(ROOT, ".build-static/release/model-infer"))
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--batches", default="1,8")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--cooldown", type=float, default=0.5,
                    help="seconds between turns, so the other side's idle threads stop spinning (default 0.5)")
    ap.add_argument("--no-wait", action="store_true", help="do not wait for a quiet machine")
    ap.add_argument("--markdown", help="also write the table to this Markdown file")
    args = ap.parse_args()
    quiet = True if args.no_wait else wait_for_quiet()
    rng = np.random.default_rng(0)
    rows = []
    for batch in map(int, args.batches.split(",")):
        x = rng.standard_normal((batch, 3, 224, 224)).astype(np.float32)
        path = f"/tmp/bench-engine-input-{os.getpid()}-{batch}.f32"
        x.tofile(path)
        for threads in map(int, args.threads.split(",")):
            engine = Engine(args.binary, args.model, path, x.shape, threads)
            peer = OnnxRuntime(args.model, x, threads)
            engine.run(3), peer.run(3)  # warm-up
            ours, theirs = [], []
            for _ in range(args.rounds):  # A B A B ...
                ours += engine.run(args.iters)
                time.sleep(args.cooldown)
                theirs += peer.run(args.iters)
                time.sleep(args.cooldown)
            engine.close()
            a, b = statistics.median(ours), statistics.median(theirs)
            rows.append((batch, threads, a, b, a / b))
            print(f"batch {batch} threads {threads}: engine {a:.2f} ms, onnxruntime {b:.2f} ms, ratio {a / b:.2f}", flush=True)
        os.unlink(path)
    header = "| batch | threads | engine median ms | onnxruntime median ms | engine ms/image | ratio engine/onnxruntime |\n|---:|---:|---:|---:|---:|---:|"
    table = "\n".join([header] + [f"| {b} | {t} | {a:.2f} | {o:.2f} | {a / b:.2f} | {r:.2f} |" for b, t, a, o, r in rows])
    print()
    print(table)
    if not quiet:
        print("\n(the machine was not quiet: treat these numbers as noisy)")
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(table + "\n")


if __name__ == "__main__":
    sys.exit(main())
