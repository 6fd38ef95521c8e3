#!/usr/bin/env python3
"""The int8 demo model on the engine: against onnxruntime on the same QDQ file, and against the
engine on the fp32 model, side by side in one run.

    bench/int8            writes the "Engine: int8" section of docs/benchmarks.md (~6 minutes)
    bench/int8 --smoke    a few iterations, into .cache/bench-smoke/int8.md (what CI runs)

Runs bench/engine twice (models/efficientnet-lite0-int8, then models/efficientnet-lite0) for
batch 1 and 8, 1 and 2 threads, and reports both tables, the engine's int8/fp32 ratio, and the
issue's targets for this machine (engine int8 <= 0.9x onnxruntime int8 and <= 0.72x engine fp32
at batch 8) as met or missed. The CPU model and its SIMD flags head the section: int8 gains
depend on VNNI (AVX512_VNNI / AVX_VNNI), so results hold for this machine only.
"""
import argparse
import os
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sections  # noqa: E402


def engine(model, out, smoke):
    args = [os.path.join(ROOT, "bench", "engine"), "--model", model, "--markdown", out]
    if smoke:
        args += ["--rounds", "1", "--iters", "2", "--no-wait"]
    r = subprocess.run(args, cwd=ROOT, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"bench/engine on {model} failed: {r.stderr.strip()[-1000:]}")
    table = open(out).read().strip()
    rows = {}
    for line in table.splitlines()[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[(int(cells[0]), int(cells[1]))] = (float(cells[4]), float(cells[5]))  # ms/image, ratio to onnxruntime
    return table, rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smoke", action="store_true")
    args = ap.parse_args()
    work = os.path.join(ROOT, ".cache", "bench-smoke" if args.smoke else "bench-int8")
    os.makedirs(work, exist_ok=True)
    int8, q = engine(os.path.join(ROOT, "models", "efficientnet-lite0-int8", "model.onnx"), os.path.join(work, "engine-int8.md"), args.smoke)
    fp32, f = engine(os.path.join(ROOT, "models", "efficientnet-lite0", "model.onnx"), os.path.join(work, "engine-fp32.md"), args.smoke)
    ratios = ["| batch | threads | engine int8 ms/image | engine fp32 ms/image | int8 / fp32 |", "|---:|---:|---:|---:|---:|"]
    for key in sorted(q):
        ratios.append(f"| {key[0]} | {key[1]} | {q[key][0]:.2f} | {f[key][0]:.2f} | {q[key][0] / f[key][0]:.2f} |")
    targets = []
    for threads in sorted({t for _, t in q}):
        if (8, threads) in q:
            vs_ort, vs_fp32 = q[(8, threads)][1], q[(8, threads)][0] / f[(8, threads)][0]
            targets.append(f"- batch 8, {threads} thread(s): engine int8 / onnxruntime int8 {vs_ort:.2f} (target ≤ 0.9: "
                           f"{'met' if vs_ort <= 0.9 else 'missed'}); engine int8 / engine fp32 {vs_fp32:.2f} (target ≤ 0.72: "
                           f"{'met' if vs_fp32 <= 0.72 else 'missed'})")
    body = "\n".join([
        "## Engine: int8",
        "",
        f"Written by `bench/int8` ({sections.machine()}). The int8 demo model (QDQ, made by "
        "`models/efficientnet-lite0-int8/quantize.py`) on the engine — its QDQ convolutions run as oneDNN int8 "
        "convolutions — against onnxruntime on the same file, then the engine on the int8 model against the engine on "
        "the fp32 one. Medians of bench/engine's rounds; the machine is shared, so compare ratios within a table.",
        "",
        "Engine int8 vs onnxruntime int8 (same QDQ file):",
        "",
        int8,
        "",
        "Engine fp32 vs onnxruntime fp32:",
        "",
        fp32,
        "",
        "Engine int8 vs engine fp32:",
        "",
        "\n".join(ratios),
        "",
        "Targets on this machine:",
        "",
        "\n".join(targets),
    ])
    sections.write("int8", body, args.smoke)


if __name__ == "__main__":
    main()
