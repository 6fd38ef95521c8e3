#!/usr/bin/env python3
"""Broken, hostile and unusual image files for the bad-input corpus.

    python Tests/Fixtures/hostile_images.py OUT_DIR SOURCE_JPEG
"""
import io
import os
import struct
import sys
import zlib

import numpy as np
from PIL import Image


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def main():
    out, source = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    jpeg = open(source, "rb").read()
    photo = Image.open(source).convert("RGB")
    w = lambda name, data: open(os.path.join(out, name), "wb").write(data)
    buf = io.BytesIO(); photo.save(buf, "PNG"); png = buf.getvalue()
    w("truncated.jpg", jpeg[: len(jpeg) // 3])
    w("truncated.png", png[: len(png) // 3])
    corrupt = bytearray(jpeg); corrupt[600:4000] = os.urandom(3400); w("corrupt.jpg", bytes(corrupt))
    corrupt = bytearray(png); corrupt[200:260] = b"\0" * 60; w("corrupt.png", bytes(corrupt))  # breaks IDAT's CRC
    w("header-only.jpg", jpeg[:200])
    w("zero.bin", b"")
    w("text.txt", b"this is not an image\n" * 10)
    w("pdf.pdf", b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n")
    # Decompression bombs: headers that claim 50000 x 50000 pixels.
    w("bomb.png", b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 50000, 50000, 8, 2, 0, 0, 0))
      + png_chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + png_chunk(b"IEND", b""))
    sof = bytearray(jpeg)
    i = 2
    while i < len(sof):  # patch the SOF0/SOF2 frame size
        marker, length = sof[i + 1], struct.unpack(">H", sof[i + 2:i + 4])[0]
        if marker in (0xC0, 0xC2):
            sof[i + 5:i + 9] = struct.pack(">HH", 50000, 50000)
            break
        i += 2 + length
    w("bomb.jpg", bytes(sof))
    # Unusual but valid: must be answered 200.
    gray16 = Image.fromarray((np.asarray(photo.convert("L"), dtype=np.uint16) * 257)); gray16.save(os.path.join(out, "gray16.png"))
    rgba = photo.convert("RGBA"); rgba.save(os.path.join(out, "rgba.png"))
    photo.convert("P").save(os.path.join(out, "palette.png"))
    photo.convert("CMYK").save(os.path.join(out, "cmyk.jpg"))
    photo.save(os.path.join(out, "progressive.jpg"), progressive=True, quality=85)
    frames = [photo, photo.rotate(10)]
    frames[0].save(os.path.join(out, "animated.png"), save_all=True, append_images=frames[1:], duration=100)
    frames[0].save(os.path.join(out, "animated.gif"), save_all=True, append_images=frames[1:], duration=100)
    photo.resize((1, 1)).save(os.path.join(out, "tiny.png"))
    # A 65000×1 strip: a few KB, but it resizes to 16.6 million columns (MAX_IMAGE_ASPECT_RATIO).
    photo.resize((65000, 1)).save(os.path.join(out, "strip.png"))
    print(f"{out}: {len(os.listdir(out))} files")


if __name__ == "__main__":
    main()
