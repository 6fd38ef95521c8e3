#!/usr/bin/env python3
"""Files for the fetch tests: an artifact, its gzip, good and hostile tarballs.

    python Tests/Fixtures/fetch_fixtures.py OUT_DIR

Writes model.bin (3 MiB, seeded random bytes), model.bin.gz, bundle.tar.gz (a folder with two
files and a relative symlink), links.tar.gz (links that stay inside: a symlink, a hard link, a
`./` entry), into-models.tar.gz (`models/x.txt`), and the archives in HOSTILE and MALFORMED,
which must all be refused. sha256.json maps each file to its digest; SHA256SUMS lists every file in `sha256sum`
format (so the fixture folder, uploaded as a prefix, can be fetched verified).
"""
import gzip
import hashlib
import io
import json
import os
import sys
import tarfile

import numpy as np


# Archives the extractor must refuse (name -> entries). Each entry is (name, bytes) for a file,
# (name, None, target) for a symlink, (name, None, target, "hard") for a hard link.
HOSTILE = {
    # x/y -> .. is harmless alone, but l -> x/y/.. then leads out, and l/evil would be written there.
    "chain.tar.gz": [("x/y", None, ".."), ("l", None, "x/y/.."), ("l/evil", b"evil")],
    # The same, links made in the other order: l looks harmless until x/y/z appears.
    "chain-late.tar.gz": [("ok.txt", b"fine"), ("l", None, "x/y/z/../../.."), ("x/y/z", None, "../..")],
    "abs-link.tar.gz": [("abs", None, "/tmp"), ("abs/model-fetch-abs-evil.txt", b"evil")],
    "dotdot.tar.gz": [("a/b/../../../evil.txt", b"evil")],
    "hardlink-out.tar.gz": [("ok.txt", b"fine"), ("h", None, "../evil.txt", "hard")],
    "hardlink-abs.tar.gz": [("h", None, "/etc/passwd", "hard")],
    "hardlink-via-link.tar.gz": [("real/f", b"data"), ("s", None, "real"), ("h", None, "s/f", "hard")],
    # A file written through a symlinked directory, even one that stays inside.
    "through-link.tar.gz": [("sub/keep.txt", b"fine"), ("d", None, "sub"), ("d/evil.txt", b"evil")],
    "link-to-link.tar.gz": [("f", b"data"), ("b", None, "f"), ("a", None, "b")],
}


def raw_header(name, size_field, kind):
    """One ustar header with a size field given as raw bytes (for values tarfile cannot write)."""
    h = bytearray(512)
    h[0:len(name)] = name
    h[100:124] = b"0000644\x000000000\x000000000\x00"
    h[124:136] = size_field.ljust(12, b"\x00")
    h[136:148] = b"00000000000\x00"
    h[156] = ord(kind)
    h[257:265] = b"ustar\x0000"
    h[148:156] = b" " * 8
    h[148:156] = b"%06o\x00 " % sum(h)
    return bytes(h)


# Archives whose headers carry hostile numbers: each must fail cleanly, allocating nothing large.
MALFORMED = {
    "huge-pax.tar.gz": raw_header(b"PaxHeader", b"10000000000", "x") + b"0" * 512,       # a 1 GiB pax header
    "huge-size.tar.gz": raw_header(b"big", b"\x80" + (1 << 40).to_bytes(11, "big"), "0") + b"x" * 512,  # 1 TiB claimed
    "overflow-size.tar.gz": raw_header(b"big", b"\x80" + b"\xff" * 11, "0"),             # more than Int64
    "bad-checksum.tar.gz": raw_header(b"f", b"4", "0")[:148] + b"0000000\x00" + raw_header(b"f", b"4", "0")[156:] + b"data".ljust(512, b"\x00"),
}


def add(tar, name, data=None, link=None, kind="sym"):
    info = tarfile.TarInfo(name)
    if link is not None:
        info.type, info.linkname = (tarfile.SYMTYPE if kind == "sym" else tarfile.LNKTYPE), link
        tar.addfile(info)
    elif data is None:
        info.type = tarfile.DIRTYPE
        tar.addfile(info)
    else:
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))


def tgz(path, entries):
    with tarfile.open(path, "w:gz", format=tarfile.PAX_FORMAT) as tar:
        for e in entries:
            add(tar, *e)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    data = np.random.default_rng(7).integers(0, 256, 3 << 20, dtype=np.uint8).tobytes()
    open(os.path.join(out, "model.bin"), "wb").write(data)
    open(os.path.join(out, "model.bin.gz"), "wb").write(gzip.compress(data, mtime=0))
    tgz(os.path.join(out, "bundle.tar.gz"), [("bundle/model.onnx", b"onnx bytes"), ("bundle/labels.txt", b"a\nb\n"),
                                             ("bundle/current", None, "model.onnx")])
    tgz(os.path.join(out, "escape.tar.gz"), [("ok.txt", b"fine"), ("../escaped.txt", b"evil")])
    tgz(os.path.join(out, "absolute.tar.gz"), [("/tmp/model-fetch-absolute.txt", b"evil")])
    tgz(os.path.join(out, "link-out.tar.gz"), [("passwd", None, "/etc/passwd")])
    tgz(os.path.join(out, "links.tar.gz"), [("./",), ("bundle/model.onnx", b"onnx bytes"), ("bundle/current", None, "model.onnx"),
                                            ("bundle/copy", None, "bundle/model.onnx", "hard"), ("top", None, "bundle/model.onnx")])
    tgz(os.path.join(out, "into-models.tar.gz"), [("models/x.txt", b"inside")])
    for name, entries in HOSTILE.items():
        tgz(os.path.join(out, name), entries)
    for name, data in MALFORMED.items():
        open(os.path.join(out, name), "wb").write(gzip.compress(data + b"\x00" * 1024, mtime=0))
    def sha(n):
        return hashlib.sha256(open(os.path.join(out, n), "rb").read()).hexdigest()
    digests = {n: sha(n) for n in sorted(os.listdir(out)) if n not in ("sha256.json", "SHA256SUMS")}
    json.dump(digests, open(os.path.join(out, "sha256.json"), "w"), indent=1)
    with open(os.path.join(out, "SHA256SUMS"), "w") as f:
        f.writelines(f"{sha(n)}  {n}\n" for n in sorted(os.listdir(out)) if n != "SHA256SUMS")


if __name__ == "__main__":
    main()
