#!/usr/bin/env python3
"""Accuracy gate: does a quantized (or otherwise changed) model still answer as its reference does?

    python models/gate.py REFERENCE_DIR CANDIDATE_DIR [--min-top1 0.9] [--min-top5 0.8]

Runs both model folders (model.json + artifact, onnxruntime on CPU) on the same inputs — real
photos from scikit-image's wheel that are NOT used to calibrate the demo int8 model, each
mirrored, cropped and rescaled into GATE_VIEWS inputs — and fails (exit 1) unless
  - top-1 agreement (the candidate's top class is the reference's) is at least --min-top1,
  - mean top-5 overlap (|top5(ref) ∩ top5(candidate)| / 5) is at least --min-top5, and
  - the four named photos of models/efficientnet-lite0/check_model.py keep their expected top-1.
A pipeline runs it on its own model before publishing: reference = what is served today,
candidate = what would replace it.
"""
import argparse
import json
import os
import sys

import numpy as np
import onnxruntime as ort
import skimage.data
from PIL import Image, ImageOps

ROOT = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(ROOT, "efficientnet-lite0"))
import check_model  # noqa: E402

# Disjoint from models/efficientnet-lite0-int8/quantize.py CALIBRATION.
GATE_PHOTOS = ["coffee", "camera", "rocket", "stereo_motorcycle", "horse"]


def photos():
    for name in GATE_PHOTOS:
        data = getattr(skimage.data, name)()
        if name == "stereo_motorcycle":
            yield "motorcycle_left", Image.fromarray(data[0])
            yield "motorcycle_right", Image.fromarray(data[1])
        else:
            yield name, Image.fromarray(data)


def views(image):
    """56 views: as is and mirrored; whole, three centre crops and four corner crops at 80%...;
    each rescaled before the model's own resize, at 3 sizes for the whole view."""
    w, h = image.size
    out = []
    for flipped in (image, ImageOps.mirror(image)):
        crops = [flipped]
        for f in (0.9, 0.75, 0.6):
            cw, ch = int(w * f), int(h * f)
            crops.append(flipped.crop(((w - cw) // 2, (h - ch) // 2, (w - cw) // 2 + cw, (h - ch) // 2 + ch)))
        cw, ch = int(w * 0.8), int(h * 0.8)
        for left, top in ((0, 0), (w - cw, 0), (0, h - ch), (w - cw, h - ch)):
            crops.append(flipped.crop((left, top, left + cw, top + ch)))
        for crop in crops:
            out.append(crop)
            for s in (0.5, 1.5):
                out.append(crop.resize((max(1, int(crop.width * s)), max(1, int(crop.height * s))), Image.BILINEAR))
    return out


class Folder:
    def __init__(self, path):
        self.manifest = json.load(open(os.path.join(path, "model.json")))
        self.session = ort.InferenceSession(os.path.join(path, self.manifest["artifact"]["file"]), providers=["CPUExecutionProvider"])

    def logits(self, image):
        x = check_model.preprocess(image, self.manifest)
        return self.session.run(None, {self.manifest["input"]["name"]: x})[0][0]


def main():
    ap = argparse.ArgumentParser(description="accuracy gate: a candidate model against its reference")
    ap.add_argument("reference")
    ap.add_argument("candidate")
    ap.add_argument("--min-top1", type=float, default=0.9, help="least top-1 agreement (default 0.9)")
    ap.add_argument("--min-top5", type=float, default=0.8, help="least mean top-5 overlap (default 0.8)")
    args = ap.parse_args()
    ref, cand = Folder(args.reference), Folder(args.candidate)
    agree, overlap, count, failures = 0, 0.0, 0, []
    named = {"coffee": check_model.EXPECTED["coffee"], "camera": check_model.EXPECTED["camera"],
             "rocket": check_model.EXPECTED["rocket"], "motorcycle_left": check_model.EXPECTED["stereo_motorcycle"]}
    for name, image in photos():
        for k, view in enumerate(views(image)):
            a, b = ref.logits(view), cand.logits(view)
            top5a, top5b = np.argsort(-a)[:5], np.argsort(-b)[:5]
            agree += int(top5a[0] == top5b[0])
            overlap += len(set(top5a) & set(top5b)) / 5
            count += 1
            if k == 0 and name in named and int(top5b[0]) != named[name]:
                failures.append(f"{name}: candidate top-1 {int(top5b[0])}, expected {named[name]}")
    top1, top5 = agree / count, overlap / count
    print(f"gate: {count} inputs ({len(GATE_PHOTOS)} photo sources x {len(views(Image.new('RGB', (8, 8))))} views, none used for calibration): "
          f"top-1 agreement {top1:.3f} (min {args.min_top1}), mean top-5 overlap {top5:.3f} (min {args.min_top5}); "
          f"named photos: {len(named) - len(failures)}/{len(named)} keep their top-1")
    if top1 < args.min_top1:
        failures.append(f"top-1 agreement {top1:.3f} < {args.min_top1}")
    if top5 < args.min_top5:
        failures.append(f"top-5 overlap {top5:.3f} < {args.min_top5}")
    for f in failures:
        print(f"FAIL: {f}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
