#!/usr/bin/env python3
"""The int8 demo model: EfficientNet-Lite0 quantized after training from the fp32 artifact.

    python models/efficientnet-lite0-int8/quantize.py --output models/efficientnet-lite0-int8/model.onnx

onnxruntime's `quantize_static` in the QDQ format (QuantizeLinear/DequantizeLinear around each
operator, as onnxruntime, Olive and TensorRT read it): per-channel s8 weights, u8 activations,
min/max calibration on real photos shipped by scikit-image's wheel, with flips and crops for
variety. Calibration uses only CALIBRATION photos; the accuracy gate (models/gate.py) judges the
result on others. The same inputs give the same bytes on every run (min/max calibration is
exact, and the photos, their augmentations and the model are fixed), so the manifest pins its
SHA-256 and `make model` checks it.

Weights use 7 bits (`reduce_range`): without VNNI, x86 int8 kernels add pairs of u8×s8 products
in saturating 16-bit registers, and full-range weights can saturate there. oneDNN halves the
weights itself on such CPUs; 7-bit weights make the file give the same answers on every CPU.
"""
import argparse
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

# Photos for calibration. None of them is in the gate's set (models/gate.py GATE_PHOTOS).
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
    args = ap.parse_args()
    import json
    manifest = json.load(open(os.path.join(FP32, "model.json")))
    tmp = args.output + ".tmp"
    quantize_static(
        os.path.join(FP32, "model.onnx"), tmp, Reader(manifest),
        quant_format=QuantFormat.QDQ, per_channel=os.environ.get("PC", "1") == "1", reduce_range=os.environ.get("RR", "1") == "1",
        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
        calibrate_method=CalibrationMethod.MinMax,
    )
    os.replace(tmp, args.output)
    print(f"{args.output}: {os.path.getsize(args.output)} bytes, calibrated on {len(CALIBRATION)} photos x {len(augmentations(Image.new('RGB', (8, 8))))} views")


if __name__ == "__main__":
    main()
