#!/usr/bin/env python3
"""Real photos as image files, with Pillow's preprocessing of each as the expected tensor.

    python Tests/Fixtures/images.py OUT_DIR MODEL_DIR

For each scikit-image photo: NAME.jpg or NAME.png (as Pillow writes it) and NAME.f32, the raw
little-endian float32 CHW tensor of the demo model's input that Pillow's pipeline (check_model.preprocess) makes
from that file. Also writes grayscale, RGBA and palette variants.
"""
import io
import os
import sys

import numpy as np
from PIL import Image

STAMP = "images-v2"


def main():
    out, model_dir = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    stamp = os.path.join(out, "STAMP")
    if os.path.exists(stamp) and open(stamp).read() == STAMP:
        print(f"{out}: up to date")
        return 0
    os.makedirs(out, exist_ok=True)
    sys.path.insert(0, model_dir)
    import json
    import check_model
    manifest = json.load(open(os.path.join(model_dir, "model.json")))
    photos = {
        "coffee.jpg": check_model.photo("coffee"),
        "camera.png": check_model.photo("camera"),            # grayscale PNG
        "rocket.jpg": check_model.photo("rocket"),
        "motorcycle.png": check_model.photo("stereo_motorcycle"),
        "astronaut_rgba.png": check_model.photo("astronaut").convert("RGBA"),
        "chelsea_palette.png": check_model.photo("chelsea").convert("P"),
        "camera_gray.jpg": check_model.photo("camera"),
        "hubble_large.jpg": check_model.photo("hubble_deep_field").resize((1400, 1100)),
    }
    for name, image in photos.items():
        path = os.path.join(out, name)
        if name.endswith(".jpg"):
            image.convert("RGB" if image.mode not in ("L", "RGB") else image.mode).save(path, quality=92)
        else:
            image.save(path)
        # Pillow reads the file back, exactly as the Python reference server would.
        x = check_model.preprocess(Image.open(path), manifest)
        x.astype("<f4").tofile(os.path.join(out, os.path.splitext(name)[0] + ".f32"))
    with open(stamp, "w") as f:
        f.write(STAMP)
    print(f"{out}: {len(photos)} images")
    return 0


if __name__ == "__main__":
    sys.exit(main())
