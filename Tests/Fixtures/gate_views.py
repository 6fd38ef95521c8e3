#!/usr/bin/env python3
"""The accuracy gate's images: real photos, none of them used to calibrate the int8 demo model.

    python Tests/Fixtures/gate_views.py OUT_DIR

From scikit-image's photos in GATE_PHOTOS (disjoint from models/efficientnet-lite0-int8/quantize.py's
CALIBRATION), 48 views each, as JPEG files NAME-K.jpg: as is and mirrored; whole, three centre crops
(90, 75, 60%) and four corner crops (80%); each also rescaled by 0.5 and 1.5 before the model's own
resize. NAME-0.jpg is the photo itself. 6 sources x 48 = 288 images. `make test` runs
`model-infer gate` (int8 against fp32) on them.
"""
import os
import sys

import skimage.data
from PIL import Image, ImageOps
import stamp

STAMP = "gate-v1"
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


def main():
    out = os.path.abspath(sys.argv[1])
    if stamp.is_current(out, STAMP):
        return 0
    os.makedirs(out, exist_ok=True)
    count = 0
    for name, image in photos():
        for k, view in enumerate(views(image)):
            view.convert("RGB").save(os.path.join(out, f"{name}-{k}.jpg"), quality=95)
            count += 1
    stamp.mark(out, STAMP)
    print(f"{out}: {count} images")
    return 0


if __name__ == "__main__":
    sys.exit(main())
