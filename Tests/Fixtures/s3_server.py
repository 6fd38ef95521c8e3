#!/usr/bin/env python3
"""A real S3 server for the fetch tests: moto in server mode with authentication enforced.

    python Tests/Fixtures/s3_server.py FIXTURE_DIR

Starts moto on a free loopback port, creates (through moto's IAM) a user with an access key and a
policy allowing s3:GetObject/ListBucket on bucket `models`, uploads every file in FIXTURE_DIR with
boto3 under `models/fixtures/`, plus 1,100 tiny objects under `many/` (more than one ListObjectsV2
page) with their SHA256SUMS, and the prefixes in PREFIXES for the SHA256SUMS checks, then
enforces authentication and prints one JSON line:
{"endpoint": ..., "access_key": ..., "secret_key": ..., "bucket": "models"}. Runs until stdin closes.
"""
import hashlib
import json
import os
import sys
import threading

import boto3
import requests
from moto.server import ThreadedMotoServer

A, B, C = b"alpha\n", b"bravo\n", b"charlie\n"


def sums(files, **wrong):
    """SHA256SUMS text for {name: bytes}; `wrong` replaces a name's digest."""
    return "".join(f"{wrong.get(n, hashlib.sha256(d).hexdigest())}  {n}\n" for n, d in files.items()).encode()


# prefix -> {key under it: bytes}, each a case of the prefix checks.
PREFIXES = {
    # `./` names, a `*` (binary mode) marker and a nested path: all verified.
    "verified/": {"a.txt": A, "sub/c.txt": C,
                  "SHA256SUMS": f"{hashlib.sha256(A).hexdigest()} *a.txt\n{hashlib.sha256(C).hexdigest()}  ./sub/c.txt\n".encode()},
    "tampered/": {"a.txt": A, "b.txt": B, "SHA256SUMS": sums({"a.txt": A, "b.txt": B}, **{"b.txt": hashlib.sha256(C).hexdigest()})},
    "unlisted/": {"a.txt": A, "b.txt": B, "SHA256SUMS": sums({"a.txt": A})},
    "missing/": {"a.txt": A, "SHA256SUMS": sums({"a.txt": A, "b.txt": B})},
    "nosums/": {"a.txt": A, "b.txt": B},
    "bigsums/": {"a.txt": A, "SHA256SUMS": sums({"a.txt": A}) + b"\n" * (2 << 20)},
    "badsums/": {"a.txt": A, "SHA256SUMS": sums({"../a.txt": A})},
    "dup/": {"a.txt": A, "./a.txt": A, "SHA256SUMS": sums({"a.txt": A})},  # two keys, one file
}

POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"],
                   "Resource": ["arn:aws:s3:::models", "arn:aws:s3:::models/*"]}],
}


def start_authenticated_s3(user, policy, fill):
    """Starts moto on a free loopback port; creates (through moto's IAM) `user` with `policy` and an
    access key; calls `fill(s3_client)` to upload objects; then enforces authentication.
    Returns (server, endpoint, access key). Also used by bench/fetch.py."""
    server, endpoint, keys = start_authenticated_s3_users({user: policy}, fill)
    return server, endpoint, keys[user]


def start_authenticated_s3_users(users, fill):
    """start_authenticated_s3 for several IAM users: `users` is {user name: policy}.
    Returns (server, endpoint, {user name: access key}). Used by Tests/Pipeline/stores.py."""
    import logging
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request in logs
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    admin = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="admin", aws_secret_access_key="admin")
    iam = boto3.client("iam", **admin)
    keys = {}
    for user, policy in users.items():
        iam.create_user(UserName=user)
        iam.put_user_policy(UserName=user, PolicyName="policy", PolicyDocument=json.dumps(policy))
        keys[user] = iam.create_access_key(UserName=user)["AccessKey"]
    fill(boto3.client("s3", **admin))
    requests.post(f"{endpoint}/moto-api/reset-auth", data=b"0").raise_for_status()
    return server, endpoint, keys


def main():
    fixtures = sys.argv[1]

    def fill(s3):
        s3.create_bucket(Bucket="models")
        for name in sorted(os.listdir(fixtures)):
            path = os.path.join(fixtures, name)
            if os.path.isfile(path):
                s3.upload_file(path, "models", f"fixtures/{name}")
        many = {f"part-{i:04d}.txt": f"object {i}\n".encode() for i in range(1100)}
        for prefix, objects in {"many/": {**many, "SHA256SUMS": sums(many)}, **PREFIXES}.items():
            for name, body in objects.items():
                s3.put_object(Bucket="models", Key=prefix + name, Body=body)

    server, endpoint, key = start_authenticated_s3("fetcher", POLICY, fill)
    print(json.dumps({"endpoint": endpoint, "access_key": key["AccessKeyId"], "secret_key": key["SecretAccessKey"],
                      "bucket": "models"}), flush=True)
    sys.stdin.read()
    server.stop()


if __name__ == "__main__":
    main()
