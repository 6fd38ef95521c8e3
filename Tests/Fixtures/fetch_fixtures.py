#!/usr/bin/env python3
"""Files for the fetch tests: an artifact, its gzip, good and hostile tarballs.

    python Tests/Fixtures/fetch_fixtures.py OUT_DIR

Writes model.bin (3 MiB, seeded random bytes), model.bin.gz, bundle.tar.gz (a folder with two
files and a relative symlink), and three archives that must be refused: escape.tar.gz (`../`),
absolute.tar.gz (`/tmp/...`), link-out.tar.gz (a symlink to /etc/passwd). sha256.json maps each
file to its digest.
"""
import gzip
import hashlib
import io
import json
import os
import sys
import tarfile

import numpy as np


def add(tar, name, data=None, link=None):
    info = tarfile.TarInfo(name)
    if link is not None:
        info.type, info.linkname = tarfile.SYMTYPE, link
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
    digests = {n: hashlib.sha256(open(os.path.join(out, n), "rb").read()).hexdigest() for n in sorted(os.listdir(out)) if n != "sha256.json"}
    json.dump(digests, open(os.path.join(out, "sha256.json"), "w"), indent=1)


if __name__ == "__main__":
    main()
