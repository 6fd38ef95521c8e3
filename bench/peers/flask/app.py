"""The design the Swift server replaces: Flask + onnxruntime + Pillow, run by gunicorn.

Serves models/efficientnet-lite0 with the same preprocessing (EXIF orientation, RGB, shorter side
to 256 with Pillow's bilinear filter, 224 center crop, (x - 127.5) / 127.5, CHW) and the same
routes as the Swift server's: `POST /score` (the original Flask app's contract), `POST
/v1/models/<name>:classify` (a raw image body), `GET /` and `GET /v2/health/ready`.

    MODEL_DIR=models/efficientnet-lite0 ORT_THREADS=1 gunicorn -w 2 --threads 2 -b 127.0.0.1:8081 app:app
"""
import base64
import io
import json
import os
import time

import numpy as np
import onnxruntime as ort
from flask import Flask, jsonify, request
from PIL import Image, ImageOps

model_dir = os.environ.get("MODEL_DIR", "models/efficientnet-lite0")
options = ort.SessionOptions()
options.intra_op_num_threads = int(os.environ.get("ORT_THREADS", "1"))
options.inter_op_num_threads = 1
options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
session = ort.InferenceSession(os.path.join(model_dir, "model.onnx"), options, providers=["CPUExecutionProvider"])
input_name = session.get_inputs()[0].name
with open(os.path.join(model_dir, "labels.txt")) as f:
    labels = [line.strip() for line in f]
app = Flask(__name__)


def preprocess(data):
    img = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
    scale = 256 / min(img.size)
    w, h = max(224, round(img.width * scale)), max(224, round(img.height * scale))
    img = img.resize((w, h), Image.BILINEAR)
    left, top = (w - 224) // 2, (h - 224) // 2
    x = np.asarray(img.crop((left, top, left + 224, top + 224)), dtype=np.float32)
    return ((x - 127.5) / 127.5).transpose(2, 0, 1)


def classify(images, k):
    logits = session.run(None, {input_name: np.stack([preprocess(b) for b in images])})[0]
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs = e / e.sum(axis=1, keepdims=True)
    return [[(int(i), labels[i], float(p[i])) for i in np.argsort(-p)[:k]] for p in probs]


@app.route("/")
def healthy():
    return "Healthy"


@app.route("/v2/health/ready")
def ready():
    return "", 200


@app.route("/score", methods=["POST"])
def score():
    start = time.time()
    items = request.get_json()["input"]
    if isinstance(items, str):
        items = json.loads(items)
    images = [base64.b64decode(s[2:-1] if s.startswith("b'") else s) for s in items]
    top = classify(images, 3)
    result = [[[label, round(p * 100, 3)] for _, label, p in row] for row in top]
    return jsonify({"result": [result, f"Computed in {round((time.time() - start) * 1000)} ms"]})


@app.route("/v1/models/<name>:classify", methods=["POST"])
def classify_raw(name):
    top = classify([request.get_data()], 5)[0]
    return jsonify({"model": name, "predictions": [[{"index": i, "label": label, "score": p} for i, label, p in top]]})
