#!/usr/bin/env python3
"""The int8 demo model: EfficientNet-Lite0 quantized after training from the fp32 artifact.

    python models/efficientnet-lite0-int8/quantize.py              # model.onnx from calibration.json (make model)
    python models/efficientnet-lite0-int8/quantize.py --calibrate  # measure calibration.json again first

onnxruntime's `quantize_static` in the QDQ format (QuantizeLinear/DequantizeLinear around each
operator, as onnxruntime, Olive and TensorRT read it): per-channel s8 weights, u8 activations,
min/max calibration on real photos shipped by scikit-image's wheel, with flips and crops for
variety. Calibration uses only CALIBRATION photos; the accuracy gate (`model-infer gate`, run by
`make test` on Tests/Fixtures/gate_views.py's images) judges the result on others.

Same bytes on every run and every machine: the activation ranges calibration measured are
committed (calibration.json) — onnxruntime's float kernels differ in their last bits between
CPUs, and so would ranges measured afresh — and quantizing with given ranges is exact numpy
arithmetic. The manifest pins the SHA-256 and `make model` checks it. `--calibrate` measures the
ranges again (then the manifest's digest must be updated).

Weights use 7 bits (`reduce_range`). Without VNNI, x86 int8 kernels (onnxruntime's and
oneDNN's alike, for u8 activations) add pairs of u8×s8 products in saturating 16-bit registers,
where full-range weights can overflow; 7-bit weights cannot, so the file gives the same answers
on every CPU. The cost, measured by `model-infer gate`: top-1 agreement with fp32 about 0.88 instead of
about 0.92 with full 8-bit weights (onnxruntime with Pillow: 0.896 and 0.955).
"""
import argparse
import json
import os
import sys

import numpy as np
import skimage.data
from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_static
from PIL import Image, ImageOps

HERE = os.path.dirname(os.path.abspath(__file__))
FP32 = os.path.join(os.path.dirname(HERE), "efficientnet-lite0")
sys.path.insert(0, FP32)
import check_model  # noqa: E402  (the Pillow preprocessing the manifest describes)

# Photos for calibration. None of them is among the gate's (Tests/Fixtures/gate_views.py GATE_PHOTOS).
CALIBRATION = ["astronaut", "chelsea", "hubble_deep_field", "retina", "immunohistochemistry", "coins", "moon", "brick", "grass", "gravel"]


def augmentations(image):
    """The photo, mirrored, and cropped to its centre and corners (deterministic: no randomness)."""
    w, h = image.size
    views = []
    for flipped in (image, ImageOps.mirror(image)):
        views.append(flipped)
        for f in (0.7,):
            cw, ch = int(w * f), int(h * f)
            for left, top in (((w - cw) // 2, (h - ch) // 2), (0, 0), (w - cw, h - ch)):
                views.append(flipped.crop((left, top, left + cw, top + ch)))
    return views


def calibration_inputs(manifest):
    for name in CALIBRATION:
        image = Image.fromarray(getattr(skimage.data, name)())
        for view in augmentations(image):
            yield check_model.preprocess(view, manifest)


class Reader(CalibrationDataReader):
    def __init__(self, manifest):
        self.name = manifest["input"]["name"]
        self.batches = iter(list(calibration_inputs(manifest)))

    def get_next(self):
        x = next(self.batches, None)
        return None if x is None else {self.name: x}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--output", default=os.path.join(HERE, "model.onnx"))
    ap.add_argument("--calibrate", action="store_true", help="measure the activation ranges again (rewrites calibration.json)")
    ap.add_argument("--per-tensor", action="store_true",
                    help="one scale per weight tensor: a deliberately worse model, the accuracy gate's control (with a model.json beside it)")
    args = ap.parse_args()
    manifest = json.load(open(os.path.join(FP32, "model.json")))
    ranges = os.path.join(HERE, "calibration.json")
    if args.calibrate and os.path.exists(ranges):
        os.remove(ranges)
    tmp = args.output + ".tmp"
    quantize_static(
        os.path.join(FP32, "model.onnx"), tmp, Reader(manifest) if args.calibrate else None,
        quant_format=QuantFormat.QDQ, per_channel=not args.per_tensor, reduce_range=True,
        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
        calibrate_method=CalibrationMethod.MinMax, calibration_cache_path=ranges,
    )
    os.replace(tmp, args.output)
    # The labels are the fp32 model's, beside the artifact so the folder can be served or published.
    with open(os.path.join(FP32, "labels.txt"), "rb") as src, open(os.path.join(os.path.dirname(args.output), "labels.txt"), "wb") as dst:
        dst.write(src.read())
    if args.per_tensor:
        import hashlib
        control = dict(manifest, name="efficientnet-lite0-per-tensor", artifact={
            "file": os.path.basename(args.output), "sha256": hashlib.sha256(open(args.output, "rb").read()).hexdigest()})
        with open(os.path.join(os.path.dirname(args.output), "model.json"), "w") as f:
            json.dump(control, f, indent=2)
    how = f"calibrated on {len(CALIBRATION)} photos x {len(augmentations(Image.new('RGB', (8, 8))))} views" if args.calibrate else "ranges from calibration.json"
    print(f"{args.output}: {os.path.getsize(args.output)} bytes, {how}")


if __name__ == "__main__":
    main()
