#!/usr/bin/env python3
"""Triton's own HTTP client (tritonclient[http] from PyPI) against our V2 endpoints.

    python Tests/Fixtures/triton_client.py HOST:PORT MODEL_DIR IMAGE

Prints one JSON object with what each call returned, for the Swift test to check.
"""
import json
import os
import sys

import numpy as np
import tritonclient.http as httpclient
from PIL import Image


def main():
    url, model_dir, image_path = sys.argv[1:4]
    sys.path.insert(0, model_dir)
    import check_model
    manifest = json.load(open(os.path.join(model_dir, "model.json")))
    name = manifest["name"]
    client = httpclient.InferenceServerClient(url=url)
    out = {"live": client.is_server_live(), "ready": client.is_server_ready(), "model_ready": client.is_model_ready(name)}
    meta = client.get_model_metadata(name)
    out["metadata"] = meta
    x = check_model.preprocess(Image.open(image_path), manifest).astype(np.float32)
    for binary in (True, False):
        inp = httpclient.InferInput(manifest["input"]["name"], list(x.shape), "FP32")
        inp.set_data_from_numpy(x, binary_data=binary)
        outs = [httpclient.InferRequestedOutput(manifest["output"]["name"], binary_data=binary)]
        result = client.infer(name, [inp], outputs=outs)
        logits = result.as_numpy(manifest["output"]["name"])
        out[f"top1_binary_{str(binary).lower()}"] = int(np.argmax(logits[0]))
        out[f"shape_binary_{str(binary).lower()}"] = list(logits.shape)
    for binary in (True, False):
        inp = httpclient.InferInput(manifest["input"]["name"], list(x.shape), "FP32")
        inp.set_data_from_numpy(x, binary_data=binary)
        result = client.infer(name, [inp], outputs=[httpclient.InferRequestedOutput(manifest["output"]["name"], binary_data=binary, class_count=3)])
        out[f"classification_binary_{str(binary).lower()}"] = [v.decode() if isinstance(v, bytes) else v for v in result.as_numpy(manifest["output"]["name"]).reshape(-1)]
    raw = np.array([open(image_path, "rb").read()], dtype=np.object_)
    inp = httpclient.InferInput(manifest["input"]["name"], [1], "BYTES")
    inp.set_data_from_numpy(raw, binary_data=True)
    result = client.infer(name, [inp], outputs=[httpclient.InferRequestedOutput(manifest["output"]["name"], class_count=1)])
    out["bytes_image_top1"] = [v.decode() for v in result.as_numpy(manifest["output"]["name"]).reshape(-1)]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
