"""What the benchmark scripts that write one section of docs/benchmarks.md share: the machine
line that heads each section, and writing the section between its markers (or, for a smoke run,
into .cache/bench-smoke/NAME.md). bench/report.py keeps these sections when it rewrites the file.
"""
import os
import re

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


def machine():
    """CPU model, cores and the SIMD flags that decide int8 and fp32 speed."""
    model = flags = "?"
    with open("/proc/cpuinfo") as f:
        text = f.read()
    if m := re.search(r"model name\s*:\s*(.*)", text):
        model = m.group(1).strip()
    if m := re.search(r"flags\s*:\s*(.*)", text):
        wanted = ["avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8"]
        flags = " ".join(f for f in wanted if f in m.group(1).split())
    return f"{model}, {os.cpu_count()} cores, flags: {flags}"


def write(name, body, smoke):
    """`body` between <!-- NAME:begin --> and <!-- NAME:end --> in docs/benchmarks.md (replacing the
    section, or appended), or in .cache/bench-smoke/NAME.md for a smoke run; also printed."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    text = f"{begin}\n{body}\n{end}"
    if smoke:
        out = os.path.join(ROOT, ".cache", "bench-smoke")
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, f"{name}.md"), "w") as f:
            f.write(text + "\n")
    else:
        path = os.path.join(ROOT, "docs", "benchmarks.md")
        doc = open(path).read()
        doc = re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda _: text, doc, flags=re.S) if begin in doc else doc.rstrip() + "\n\n" + text + "\n"
        with open(path, "w") as f:
            f.write(doc)
    print(text)
