#!/usr/bin/env python3
"""Check that the exported model classifies real photos correctly (onnxruntime + Pillow reference).

    python models/efficientnet-lite0/check_model.py [MODEL_DIR]

Exit status 0 only if every photo's top-1 is the expected ImageNet class.
"""
import json
import os
import sys

import numpy as np
import onnxruntime as ort
import skimage.data
from PIL import Image

EXPECTED = {  # scikit-image photo -> ImageNet class index
    "coffee": 967,             # espresso
    "camera": 872,             # tripod (grayscale photo)
    "rocket": 657,             # missile
    "stereo_motorcycle": 665,  # moped (left view)
}


def photo(name):
    data = getattr(skimage.data, name)()
    if name == "stereo_motorcycle":
        data = data[0]
    return Image.fromarray(data)


def preprocess(image, manifest):
    p = manifest["preprocessing"]
    image = image.convert("RGB")
    w, h = image.size
    scale = p["resize_shorter"] / min(w, h)
    image = image.resize((round(w * scale), round(h * scale)), Image.BILINEAR)
    w, h = image.size
    cw, ch = p["crop"]
    left, top = (w - cw) // 2, (h - ch) // 2
    image = image.crop((left, top, left + cw, top + ch))
    x = np.asarray(image, dtype=np.float32)
    x = (x - np.array(p["mean"], np.float32)) / np.array(p["std"], np.float32)
    return x.transpose(2, 0, 1)[None]


def main():
    model_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(model_dir, "model.json")) as f:
        manifest = json.load(f)
    with open(os.path.join(model_dir, manifest["labels"])) as f:
        labels = [line.rstrip("\n") for line in f]
    session = ort.InferenceSession(os.path.join(model_dir, manifest["artifact"]["file"]),
                                   providers=["CPUExecutionProvider"])
    failures = 0
    for name, expected in EXPECTED.items():
        logits = session.run(None, {manifest["input"]["name"]: preprocess(photo(name), manifest)})[0][0]
        probs = np.exp(logits - logits.max())
        probs /= probs.sum()
        top = int(np.argmax(probs))
        ok = top == expected
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {name}: top-1 {top} {labels[top]!r} ({probs[top]:.3f}), expected {expected}")
    print(f"{len(EXPECTED) - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
