#!/usr/bin/env python3
"""Real photos as image files, with Pillow's preprocessing of each as the expected tensor.

    python Tests/Fixtures/images.py OUT_DIR MODEL_DIR

For each scikit-image photo: NAME.jpg or NAME.png (as Pillow writes it) and NAME.f32, the raw
little-endian float32 CHW tensor of the demo model's input that Pillow's pipeline (check_model.preprocess) makes
from that file. Also writes grayscale, RGBA and palette variants.
"""
import io
import json
import os
import sys

import numpy as np
from PIL import Image
import stamp

STAMP = "images-v5"


def main():
    out, model_dir = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    if stamp.is_current(out, STAMP):
        return 0
    os.makedirs(out, exist_ok=True)
    sys.path.insert(0, model_dir)
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
        "hubble_huge.jpg": check_model.photo("hubble_deep_field").resize((2600, 2200)),  # decoded at 1/2 in the DCT domain
        "coffee_exif6.jpg": check_model.photo("coffee").rotate(90, expand=True),  # stored sideways, tagged upright
        "chelsea_cmyk.jpg": check_model.photo("chelsea").convert("CMYK"),
    }
    import onnxruntime as ort
    from PIL import ImageOps
    session = ort.InferenceSession(os.path.join(model_dir, manifest["artifact"]["file"]), providers=["CPUExecutionProvider"])
    with open(os.path.join(model_dir, manifest["labels"])) as f:
        labels = [line.rstrip("\n") for line in f]
    for name, image in photos.items():
        path = os.path.join(out, name)
        if name == "coffee_exif6.jpg":
            exif = Image.Exif()
            exif[0x0112] = 6
            image.save(path, quality=92, exif=exif)
        elif name.endswith(".jpg"):
            image.convert(image.mode if image.mode in ("L", "RGB", "CMYK") else "RGB").save(path, quality=92)
        else:
            image.save(path)
        # Pillow reads the file back, exactly as the Python reference server would.
        x = check_model.preprocess(ImageOps.exif_transpose(Image.open(path)), manifest)
        x.astype("<f4").tofile(os.path.join(out, os.path.splitext(name)[0] + ".f32"))
        # The Python reference's answer: Pillow preprocessing + onnxruntime, softmax top-5.
        logits = session.run(None, {manifest["input"]["name"]: x})[0][0]
        probs = np.exp(logits - logits.max())
        probs /= probs.sum()
        top = [{"index": int(i), "label": labels[i], "score": float(probs[i])} for i in np.argsort(-probs)[:5]]
        with open(os.path.join(out, os.path.splitext(name)[0] + ".top5.json"), "w") as f:
            json.dump(top, f)
    stamp.mark(out, STAMP)
    print(f"{out}: {len(photos)} images")
    return 0


if __name__ == "__main__":
    sys.exit(main())
