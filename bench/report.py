"""Writes docs/benchmarks.md and its charts from a bench/serving.py run."""
import datetime
import json
import os
import re
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def mean(rounds, key):
    return statistics.mean(r[key] for r in rounds)


def rps(rounds):
    return sum(r["requests"] for r in rounds) / sum(r["duration_us"] / 1e6 for r in rounds)


def du_mb(path, exclude=()):
    total = 0
    for root, dirs, files in os.walk(path):
        dirs[:] = [d for d in dirs if d not in exclude]
        for f in files:
            p = os.path.join(root, f)
            if not os.path.islink(p):
                total += os.path.getsize(p)
    return total / 1e6


def image_sizes():
    """Our image's size and breakdown (.cache/pipeline/image.json, written by `make pipeline`) and the peer's estimate."""
    ours = None
    path = os.path.join(ROOT, ".cache", "pipeline", "image.json")
    if os.path.exists(path):
        ours = json.load(open(path))
    try:
        out = subprocess.run(["podman", "--storage-driver", "vfs", "image", "inspect", "--format", "{{.Size}}", "debian:bookworm-slim"],
                             capture_output=True, text=True, timeout=60)
        base = int(out.stdout.strip()) / 1e6 if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError, ValueError):
        base = None
    venv = os.path.join(ROOT, ".venv-flask", "lib", f"python{sys.version_info.major}.{sys.version_info.minor}", "site-packages")
    wheels = du_mb(venv, exclude=("pip", "setuptools", "__pycache__")) if os.path.isdir(venv) else None
    stdlib = os.path.join(sys.base_prefix, "lib", f"python{sys.version_info.major}.{sys.version_info.minor}")
    python = du_mb(stdlib, exclude=("site-packages", "test", "tests", "idlelib", "tkinter", "ensurepip", "__pycache__", "turtledemo"))
    model = os.path.getsize(os.path.join(ROOT, "models", "efficientnet-lite0", "model.onnx")) / 1e6
    return ours, base, python, wheels, model


def image_section(ours, base, python, wheels, model):
    """The Container image section: our image's parts (from `make pipeline`) and the peer's estimate."""
    lines = ["## Container image\n", "| | size |", "|---|---:|"]
    size = ours["size"] / 1e6 if ours else None
    lines.append(f"| ours: the `runtime` stage (`make pipeline`: podman, from the store) | {f'{size:.1f} MB' if size else 'not built'} |")
    for part, nbytes in (ours or {}).get("parts", {}).items():
        lines.append(f"| &nbsp;&nbsp;{part} | {f'{nbytes / 1e6:.1f} MB' if nbytes >= 1e6 else f'{nbytes / 1e3:.0f} kB'} |")
    if base and wheels:
        peer = base + python + wheels + model
        lines.append(f"| peer, estimated: `debian:bookworm-slim` {base:.0f} MB + CPython 3.11 stdlib {python:.0f} MB + wheels {wheels:.0f} MB "
                     f"+ model {model:.0f} MB | {peer:.0f} MB |")
        if size:
            lines.append(f"| ratio ours / peer | {size / peer:.2f} |")
    lines.append("\nOur image is `FROM scratch`: the static `model-server`, exactly the shared libraries `ldd` lists for it (with "
                 "their Debian copyright files), a passwd entry and the model — no shell, package manager or CA bundle "
                 "(215 MB on `debian:bookworm-slim` before, 228 MB once gRPC was added). `pipeline/build-binaries` links with lld, "
                 "exports only `main` (5.4 MB of dynamic symbol table gone) and packs relative relocations (DT_RELR, 3.4 MB). "
                 "The largest single part left in the binary is ICU's data (34 MB), which Foundation links in "
                 "(Hummingbird's form decoder uses `DateFormatter`). The peer's estimate adds the installed sizes of its parts "
                 "(`python:3.11-slim` cannot be pulled here): the locally made `debian:bookworm-slim` base, this machine's "
                 "CPython 3.11 standard library without its tests, and the wheels of `bench/peers/flask/requirements.txt` as "
                 "installed.\n")
    return lines


def charts(out, results, levels):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    colors = {"swift": "#f05138", "flask": "#3776ab"}
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, route in zip(axes, ("score", "classify")):
        for name in ("swift", "flask"):
            ax.plot(levels, [rps(results[(route, c, name)]) for c in levels], "o-", color=colors[name], label=name)
        ax.set_title(f"POST {'/score' if route == 'score' else ':classify'}")
        ax.set_xlabel("concurrent connections")
        ax.set_ylabel("requests/s")
        ax.set_xscale("log", base=2)
        ax.set_xticks(levels, [str(c) for c in levels])
        ax.set_ylim(bottom=0)
        ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(out, "benchmarks", "throughput.png"), dpi=110)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    width = 0.13
    for ax, route in zip(axes, ("score", "classify")):
        for i, (name, p) in enumerate([(n, p) for n in ("swift", "flask") for p in ("p50", "p90", "p99")]):
            xs = [j + (i - 2.5) * width for j in range(len(levels))]
            ax.bar(xs, [mean(results[(route, c, name)], f"{p}_us") / 1000 for c in levels], width, color=colors[name],
                   alpha={"p50": 0.45, "p90": 0.7, "p99": 1.0}[p], label=f"{name} {p}")
        ax.set_title(f"latency, POST {'/score' if route == 'score' else ':classify'}")
        ax.set_xticks(range(len(levels)), [str(c) for c in levels])
        ax.set_xlabel("concurrent connections")
        ax.set_ylabel("ms (log)")
        ax.set_yscale("log")
        ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "benchmarks", "latency.png"), dpi=110)
    return True


def int8_section(results, levels, start, profile=None):
    """The int8 model served by ours against the peer on fp32 (what people run today) and the peer
    on the same int8 file, with the issue's targets."""
    L = ["## The int8 model (models/efficientnet-lite0-int8)\n",
         "Ours serves the int8 file on the engine's int8 kernels; the peer serves the fp32 file (what it runs today) and the "
         "same int8 file on onnxruntime. Same photo, same rounds, the four servers in turn.\n"]
    w = L.append
    c8 = 8 if 8 in levels else levels[-1]
    c1 = 1 if 1 in levels else levels[0]
    w("| target | measured | |\n|---|---|---|")
    for route, label in (("score", "`POST /score`"), ("classify", "`:classify`")):
        s8, f8, q8 = (results[(route, c8, n)] for n in ("swift-int8", "flask", "flask-int8"))
        ratio = rps(s8) / rps(f8)
        p99s, p99f = mean(s8, "p99_us") / 1000, mean(f8, "p99_us") / 1000
        w(f"| {label} at {c8} connections: int8 ours ≥ 1.5× the fp32 peer's throughput, lower p99 | {ratio:.2f}×, p99 {p99s:.0f} ms vs "
          f"{p99f:.0f} ms | {'met' if ratio >= 1.5 and p99s < p99f else '**missed**'} |")
        ratio = rps(s8) / rps(q8)
        w(f"| {label} at {c8} connections: int8 ours ahead of the int8 peer | {ratio:.2f}× | {'met' if ratio > 1 else '**missed**'} |")
        s1, f1 = results[(route, c1, "swift-int8")], results[(route, c1, "flask")]
        ratio = mean(s1, "p50_us") / mean(f1, "p50_us")
        w(f"| {label} at {c1} connection: int8 ours' p50 ≤ 0.7× the fp32 peer's | {ratio:.2f}× ({mean(s1, 'p50_us') / 1000:.1f} ms vs "
          f"{mean(f1, 'p50_us') / 1000:.1f} ms) | {'met' if ratio <= 0.7 else '**missed**'} |")
    peak = {n: max(r["rss_mb"] for k, v in results.items() if k[2] == n for r in v) for n in ("swift", "swift-int8")}
    w(f"| peak RSS under load: int8 ours below fp32 ours | {peak['swift-int8']:.0f} MB vs {peak['swift']:.0f} MB | "
      f"{'met' if peak['swift-int8'] < peak['swift'] else '**missed**'} |")
    w("")
    for route, label in (("score", "`POST /score`"), ("classify", "`:classify`")):
        w(f"{label}, requests/s and p50 / p99 ms:\n")
        w("| connections | ours int8 | peer fp32 | peer int8 | ours int8 / peer fp32 | ours int8 / peer int8 | ours fp32 |")
        w("|---:|---:|---:|---:|---:|---:|---:|")
        for c in levels:
            r = {n: results[(route, c, n)] for n in ("swift-int8", "flask", "flask-int8", "swift")}
            cell = {n: f"{rps(v):.1f} ({mean(v, 'p50_us') / 1000:.1f} / {mean(v, 'p99_us') / 1000:.1f})" for n, v in r.items()}
            w(f"| {c} | {cell['swift-int8']} | {cell['flask']} | {cell['flask-int8']} | {rps(r['swift-int8']) / rps(r['flask']):.2f} | "
              f"{rps(r['swift-int8']) / rps(r['flask-int8']):.2f} | {cell['swift']} |")
        w("")
    w("| memory | ours int8 | ours fp32 | peer int8 | peer fp32 |\n|---|---:|---:|---:|---:|")
    w(f"| idle RSS | {start['swift-int8'][1]:.0f} MB | {start['swift'][1]:.0f} MB | {start['flask-int8'][1]:.0f} MB | {start['flask'][1]:.0f} MB |")
    for c in levels:
        row = [max(r["rss_mb"] for r in results[("score", c, n)]) for n in ("swift-int8", "swift", "flask-int8", "flask")]
        w(f"| peak RSS, `/score`, {c} connections | " + " | ".join(f"{m:.0f} MB" for m in row) + " |")
    w("")
    if profile:
        # The per-component profile the issue asks for where a target is missed: how much of
        # the int8 server's CPU is the model, and how much everything around it.
        w("Where the int8 server's CPU goes: `perf record` while wrk posts the photo to `:classify` over 8 connections "
          "(`[JIT]` and libdnnl are the model; libturbojpeg and the server's own code decode and resize; the kernel "
          "is the network, page faults and thread wake-ups):\n")
        w("```\n" + "\n".join(profile[0]) + "\n```\n")
    return L


def write(out, results, levels, sweep, best, start, top, quiet, extra, settings):
    have_charts = charts(out, results, levels)
    L = []
    w = L.append
    w("# Benchmarks\n")
    import sections
    w(f"Written by `bench/run` on {datetime.date.today()} ({sections.machine()}; shared). "
      "Both servers run on the same cores, with the same model file and the same photo (640×427 JPEG, "
      f"{os.path.getsize(os.path.join(ROOT, '.cache', 'images', 'rocket.jpg')) // 1000} KB); both name '{top}' for it. "
      f"Each scenario: {settings['warmup']} s warm-up, then {settings['seconds']} s measured, in {settings['rounds']} rounds "
      "taking the servers in turn (Swift, Flask, Swift int8, Flask int8, again); wrk with one thread, keep-alive. "
      "Throughput is over all rounds; latencies are the mean of the rounds' percentiles. Every request succeeded "
      "(the script refuses to report otherwise)." + ("" if quiet else " **The machine never became quiet (>90% idle) before the run.**") + "\n")
    if settings.get("smoke"):
        w("**Smoke run** (CI): a few seconds per scenario; the numbers are not meaningful.\n")
    flask_name = f"Flask (gunicorn -w {best[0]} --threads {best[1]}, onnxruntime {best[2]} thread{'s' if best[2] > 1 else ''} per worker)"
    w(f"The peer, `bench/peers/flask`: {flask_name}, Pillow for decoding and resizing.\n")

    # Targets.
    c8 = 8 if 8 in levels else levels[-1]
    w("## Targets\n")
    w("| target | measured | |\n|---|---|---|")
    for route, label in (("score", "`POST /score`"), ("classify", "`:classify`")):
        s, f = results[(route, c8, "swift")], results[(route, c8, "flask")]
        ratio = rps(s) / rps(f)
        p99s, p99f = mean(s, "p99_us") / 1000, mean(f, "p99_us") / 1000
        ok = ratio >= 2 and p99s < p99f
        w(f"| {label} at concurrency {c8}: ≥ 2× the peer's throughput, lower p99 | {ratio:.2f}×, p99 {p99s:.0f} ms vs {p99f:.0f} ms | {'met' if ok else '**missed**'} |")
    ready = start["swift"][0]
    w(f"| start to ready < 1 s | {ready:.2f} s (Flask: {start['flask'][0]:.2f} s) | {'met' if ready < 1 else '**missed**'} |")
    peak = max(r["rss_mb"] for k, v in results.items() if k[2] == "swift" for r in v)
    w(f"| resident memory under load < 150 MB | {peak:.0f} MB peak RSS (any concurrency) | {'met' if peak < 150 else '**missed**'} |")
    # bench/fetch's first table, its columns found by their headers.
    lines = extra.get("fetch", "").splitlines()
    if len(lines) > 2 and lines[0].startswith("| object |"):
        row = dict(zip(*([c.strip() for c in line.strip("|").split("|")] for line in (lines[0], lines[2]))))
        ratio = float(row["model-fetch / curl"])
        bound = re.search(r"at most ([0-9.]+) of curl's throughput for a fetcher that receives", extra["fetch"])
        w(f"| `model-fetch` ≥ 0.9× curl's throughput, {row['object']} from the local S3 server | {ratio:.2f}× "
          f"({row['model-fetch / (curl + sync)']}× `curl + sync`, {row['model-fetch / (curl + sha256sum + sync)']}× "
          f"`curl + sha256sum + sync`"
          + (f"; curl's work plus SHA-256 on these shared cores allows at most {bound[1]}×" if bound else "")
          + f") | {'met' if ratio >= 0.9 else '**missed**'} |")
    w("")
    if extra.get("profile"):
        share = sum(float(l.split("%")[0]) for l in extra["profile"][0] if "[JIT]" in l or "libdnnl" in l)
        w(f"**Where the time goes.** {share:.0f}% of the Swift server's CPU time under load is the model itself "
          "(oneDNN; profile below). The engine alone is only a little faster than onnxruntime (engine table below), and the "
          "peer runs onnxruntime with one thread in each of two worker processes, which keeps both cores busy with no "
          "coordination. So the servers' throughputs differ by what is left — decoding, resizing, HTTP — and a 2× "
          "throughput target would need the engine alone to be about twice as fast as onnxruntime.\n")

    for route, label in (("score", "POST /score (JSON, base64 image)"), ("classify", "POST :classify (raw JPEG)")):
        w(f"## {label}\n")
        w("| connections | Swift req/s | Flask req/s | ratio | Swift p50 / p90 / p99 ms | Flask p50 / p90 / p99 ms | p99 ratio |")
        w("|---:|---:|---:|---:|---:|---:|---:|")
        for c in levels:
            s, f = results[(route, c, "swift")], results[(route, c, "flask")]
            ps = " / ".join(f"{mean(s, k) / 1000:.1f}" for k in ("p50_us", "p90_us", "p99_us"))
            pf = " / ".join(f"{mean(f, k) / 1000:.1f}" for k in ("p50_us", "p90_us", "p99_us"))
            w(f"| {c} | {rps(s):.1f} | {rps(f):.1f} | {rps(s) / rps(f):.2f} | {ps} | {pf} | {mean(s, 'p99_us') / mean(f, 'p99_us'):.2f} |")
        w("")
    if have_charts:
        w("![throughput](benchmarks/throughput.png)\n")
        w("![latency](benchmarks/latency.png)\n")
    L.extend(int8_section(results, levels, start, extra.get("profile-int8")))

    w("## Start-up and memory\n")
    w("| | Swift | Flask | ratio |\n|---|---:|---:|---:|")
    w(f"| process start to ready (median of {1 if settings.get('smoke') else 3}) | {start['swift'][0]:.2f} s | {start['flask'][0]:.2f} s | {start['swift'][0] / start['flask'][0]:.2f} |")
    w(f"| idle RSS (sum over processes) | {start['swift'][1]:.0f} MB | {start['flask'][1]:.0f} MB | {start['swift'][1] / start['flask'][1]:.2f} |")
    w(f"| idle PSS (shared pages counted once) | {start['swift'][2]:.0f} MB | {start['flask'][2]:.0f} MB | {start['swift'][2] / start['flask'][2]:.2f} |")
    for c in levels:
        s = max(r["rss_mb"] for r in results[("score", c, "swift")])
        f = max(r["rss_mb"] for r in results[("score", c, "flask")])
        fp = max(r["pss_mb"] for r in results[("score", c, "flask")])
        w(f"| peak RSS under load, `/score`, {c} connections | {s:.0f} MB | {f:.0f} MB (PSS {fp:.0f}) | {s / f:.2f} |")
    w("\nThe `/score` runs come first, in increasing concurrency; memory a process has touched is rarely "
      "given back, so each row also holds the peaks before it.\n")
    if sweep:
        w("## The peer's configuration\n")
        w(f"gunicorn workers × threads × onnxruntime threads per worker, `POST /score` at 8 connections, "
          f"{settings['seconds'] / 2:.0f} s each; the best is used above.\n")
        w("| workers | threads | onnxruntime threads | req/s | p99 ms | errors |\n|---:|---:|---:|---:|---:|---:|")
        for (wk, th, ort), r in sweep:
            w(f"| {wk} | {th} | {ort} | {r['rps']:.1f} | {r['p99_us'] / 1000:.0f} | {r['errors']} |")
        w("")
    if extra.get("profile"):
        w("## Where the Swift server's time goes\n")
        w("`perf record` on the Swift server while wrk posts the photo to `:classify` over 8 connections "
          "(`[JIT]` is oneDNN's generated convolution code, i.e. the model itself):\n")
        by_lib, by_symbol = extra["profile"]
        w("```\n" + "\n".join(by_lib) + "\n```\n")
        w("Top symbols:\n")
        w("```\n" + "\n".join(line[:160] for line in by_symbol) + "\n```\n")
    w("## Engine vs onnxruntime (`bench/engine`)\n")
    w("The model alone, no HTTP: EfficientNet-Lite0, the same random input, onnxruntime with "
      "`intra_op_num_threads` = threads and `ORT_ENABLE_ALL`, the engine in its own process with `OMP_NUM_THREADS` = threads; "
      "alternating rounds with a 0.5 s pause between turns (onnxruntime's spinning pool otherwise keeps a core busy "
      "after its turn). Ratio < 1: the engine is faster.\n")
    w(extra["engine"] + "\n")
    w("## model-fetch vs curl (`bench/fetch`)\n")
    w("One random object on moto's S3 server (authentication enforced), downloaded in turn (the order alternating from "
      "round to round) by `model-fetch` (SigV4 through libcurl; SHA-256 and writes side by side on two threads of their own, "
      "temporary file written with O_DIRECT, fsync, rename), by "
      "`curl --aws-sigv4 -o FILE` alone, by `curl` then `sync FILE` (durable like model-fetch, unverified), and by "
      "`curl`, `sha256sum` and `sync` (the same guarantees, as a pipeline would script them). Medians; the client's "
      "and the server's CPU seconds per download are measured too.\n")
    w(extra["fetch"] + "\n")
    L.extend(image_section(*image_sizes()))
    # Sections other scripts write (bench/protocols; bench/engine-int8), between
    # <!-- NAME:begin --> and <!-- NAME:end -->: a run of this report keeps them.
    path = os.path.join(out, "benchmarks.md")
    old = open(path).read() if os.path.exists(path) else ""
    for m in re.finditer(r"<!-- ([a-z0-9-]+):begin -->.*?<!-- \1:end -->", old, re.S):
        L.append("\n" + m.group(0) + "\n")
    with open(path, "w") as f:
        f.write("\n".join(L))
