#!/usr/bin/env python3
"""The original Flask app's integration client, as it posts: prints the top label of IMAGE.

    python Tests/Fixtures/flask_client.py http://127.0.0.1:PORT/score IMAGE
"""
import base64
import json
import sys

import requests


def main():
    url, path = sys.argv[1], sys.argv[2]
    with open(path, "rb") as f:
        img = base64.b64encode(f.read())
    # Exactly as the original client: str() of the base64 bytes inside a JSON-encoded list string.
    data = json.dumps({"input": '["{0}"]'.format(img)})
    resp = requests.post(url, data, headers={"content-type": "application/json"})
    resp.raise_for_status()
    result = json.loads(resp.text)["result"]
    print(json.dumps({"label": result[0][0][0][0], "percent": result[0][0][0][1], "timing": result[1]}))


if __name__ == "__main__":
    main()
