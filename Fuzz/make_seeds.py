#!/usr/bin/env python3
"""Writes the fuzzers' seed corpora (Fuzz/Corpus/*): small valid inputs of every kind the parsers
take, so that fuzzing starts deep in the code. Run once; the seeds are committed (each < 2 KB).

    .venv/bin/python Fuzz/make_seeds.py
"""
import base64
import io
import json
import os
import struct

from PIL import Image

here = os.path.dirname(os.path.abspath(__file__))


def image(mode, size, fmt, **kw):
    img = Image.new(mode, size)
    for x in range(size[0]):
        for y in range(size[1]):
            v = (x * 37 + y * 11) % 256
            img.putpixel((x, y), {"L": v, "I;16": v * 257, "P": v % 16, "RGB": (v, 255 - v, x * 8 % 256),
                                  "RGBA": (v, 255 - v, 0, y * 16 % 256), "CMYK": (v, 0, 255 - v, 30), "LA": (v, 200)}[mode])
    if mode == "P":
        img.putpalette([i * 16 % 256 for i in range(48)])
    out = io.BytesIO()
    img.save(out, fmt, **kw)
    return out.getvalue()


def main():
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90°
    images = {
        "rgb.jpg": image("RGB", (16, 12), "JPEG", quality=80),
        "progressive.jpg": image("RGB", (16, 16), "JPEG", progressive=True),
        "gray.jpg": image("L", (8, 8), "JPEG"),
        "cmyk.jpg": image("CMYK", (8, 8), "JPEG"),
        "exif6.jpg": image("RGB", (12, 8), "JPEG", exif=exif.tobytes()),
        "subsampled.jpg": image("RGB", (17, 9), "JPEG", subsampling=2),
        "rgb.png": image("RGB", (9, 7), "PNG"),
        "rgba.png": image("RGBA", (8, 8), "PNG"),
        "palette.png": image("P", (8, 8), "PNG"),
        "gray16.png": image("I;16", (8, 8), "PNG"),
        "gray_alpha.png": image("LA", (8, 8), "PNG"),
    }
    write("Image", images)

    jpeg = images["rgb.jpg"]
    b64 = base64.b64encode(jpeg).decode()
    boundary = b"fuzz"
    multipart = (b"--fuzz\r\nContent-Disposition: form-data; name=\"a\"; filename=\"a.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n"
                 + jpeg + b"\r\n--fuzz\r\nContent-Disposition: form-data; name=\"b\"\r\n\r\n" + images["rgb.png"] + b"\r\n--fuzz--\r\n")
    v2_bytes = {"inputs": [{"name": "input", "shape": [1], "datatype": "BYTES", "data": [b64]}],
                "outputs": [{"name": "logits", "parameters": {"classification": 3}}]}
    v2_floats = {"inputs": [{"name": "input", "shape": [1, 3, 2, 2], "datatype": "FP32", "data": [[0.5, -1, 2e3, 1e-3]]}]}
    header = json.dumps({"inputs": [{"name": "input", "shape": [1], "datatype": "BYTES", "parameters": {"binary_data_size": len(jpeg) + 4}}],
                         "outputs": [{"name": "logits", "parameters": {"binary_data": True}}]}).encode()

    fp32_header = json.dumps({"inputs": [{"name": "input", "shape": [1, 3, 2, 2], "datatype": "FP32", "parameters": {"binary_data_size": 48}}],
                              "parameters": {"binary_data_output": True}}).encode()
    int64_header = json.dumps({"inputs": [{"name": "input", "shape": [1, 3, 2, 2], "datatype": "INT64", "parameters": {"binary_data_size": 96}}]}).encode()
    negative = json.dumps({"inputs": [{"name": "input", "shape": [1], "datatype": "BYTES", "parameters": {"binary_data_size": -1}}]}).encode()

    def req(route, body, header_length=0):
        return bytes([route]) + struct.pack("<H", header_length) + body

    write("Request", {
        "score.bin": req(0, json.dumps({"input": [b64]}).encode()),
        "score_bytes_string.bin": req(0, json.dumps({"input": str([f"b'{b64}'"])}).encode()),
        "classify.bin": req(1, jpeg),
        "classify_png.bin": req(1, images["palette.png"]),
        "multipart.bin": req(2, multipart),
        "predict_b64.bin": req(3, json.dumps({"instances": [{"b64": b64}]}).encode()),
        "predict_floats.bin": req(3, json.dumps({"instances": [[[[0.1, 0.2]]]]}).encode()),
        "v2_bytes.bin": req(4, json.dumps(v2_bytes).encode()),
        "v2_floats.bin": req(4, json.dumps(v2_floats).encode()),
        "v2_binary.bin": req(5, header + struct.pack("<I", len(jpeg)) + jpeg, len(header)),
        "v2_binary_fp32.bin": req(5, fp32_header + struct.pack("<12f", *range(12)), len(fp32_header)),
        "v2_binary_int64.bin": req(5, int64_header + struct.pack("<12q", *range(12)), len(int64_header)),
        # Each of these ended the server before shapes and sizes were checked (issue: hostile clients).
        "regression-v2-shape-overflow.bin": req(4, json.dumps({"inputs": [{"name": "input", "shape": [4611686018427387904, 3, 224, 224],
                                                                            "datatype": "FP32", "data": [1.0]}]}).encode()),
        "regression-v2-bytes-shape-overflow.bin": req(4, json.dumps({"inputs": [{"name": "input", "shape": [4611686018427387904, 4],
                                                                                  "datatype": "BYTES", "data": ["x"]}]}).encode()),
        "regression-v2-negative-binary-size.bin": req(5, negative + b"\0\0\0\0", len(negative)),
    })

    # Serialized inference.ModelInferRequest messages (Triton's generated types; the same wire
    # format as KServe's grpc_predict_v2.proto for ModelInfer).
    import tritonclient.grpc.service_pb2 as pb

    def infer(inputs, raw=(), classification=None):
        r = pb.ModelInferRequest(model_name="efficientnet-lite0", id="seed")
        for name, datatype, shape, fill in inputs:
            t = r.inputs.add(name=name, datatype=datatype, shape=shape)
            fill(t.contents)
        r.raw_input_contents.extend(raw)
        if classification:
            r.outputs.add(name="logits").parameters["classification"].int64_param = classification
        return r.SerializeToString()

    write("GRPC", {
        "fp32_raw.bin": infer([("input", "FP32", [1, 3, 2, 2], lambda c: None)], raw=[struct.pack("<12f", *range(12))]),
        "fp32_typed.bin": infer([("input", "FP32", [1, 3, 2, 2], lambda c: c.fp32_contents.extend([0.5] * 12))]),
        "int64_typed.bin": infer([("input", "INT64", [1, 3, 2, 2], lambda c: c.int64_contents.extend(range(12)))]),
        "bytes_image.bin": infer([("input", "BYTES", [1], lambda c: c.bytes_contents.append(jpeg))], classification=3),
        "bytes_raw.bin": infer([("input", "BYTES", [1], lambda c: None)], raw=[struct.pack("<I", len(jpeg)) + jpeg]),
        "png_image.bin": infer([("input", "BYTES", [1], lambda c: c.bytes_contents.append(images["palette.png"]))]),
    })


def write(folder, files):
    path = os.path.join(here, "Corpus", folder)
    os.makedirs(path, exist_ok=True)
    for name, data in files.items():
        with open(os.path.join(path, name), "wb") as f:
            f.write(data)
        print(f"{folder}/{name}: {len(data)} bytes")


if __name__ == "__main__":
    main()
