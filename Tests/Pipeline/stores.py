#!/usr/bin/env python3
"""The two model stores of the pipeline rehearsal, on loopback, with real authentication.

    python Tests/Pipeline/stores.py --info stores.json

Starts
  - moto's S3 server with authentication enforced (Tests/Fixtures/s3_server.py), with an empty
    bucket `model-store`, an IAM user `publisher` allowed s3:PutObject, s3:GetObject and
    s3:ListBucket on it, and a user `builder` allowed only s3:GetObject on it;
  - the Azure Blob endpoint of Tests/Fixtures/azure_server.py (signatures judged by
    azure-storage-blob) with an empty container `models`; the publisher gets the account key, the
    builder a read + list container SAS;
then writes one JSON object to FILE (FILE.tmp, then renamed; mode 0600, it holds keys):
  {"s3": {"endpoint", "bucket", "store": "s3://model-store/models", "publisher": ENV, "builder": ENV},
   "azure": {"account", "container", "endpoint", "store": "https://ACCOUNT.blob.core.windows.net/models/models",
             "publisher": ENV, "builder": ENV}}
where each ENV is an environment to merge into os.environ (AWS_* or AZURE_STORAGE_CONNECTION_STRING).
Serves until SIGTERM or SIGINT, or until stdin reaches EOF when stdin is a pipe or a terminal
(not /dev/null, so `stores.py --info F &` from a script keeps running); removes FILE on exit.

Importable: `info, stop = start_stores()`.
"""
import argparse
import json
import os
import signal
import stat
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "Fixtures"))
import azure_server  # noqa: E402
from s3_server import start_authenticated_s3_users  # noqa: E402

BUCKET = "model-store"
CONTAINER = "models"
PREFIX = "models"


def bucket_policy(*actions):
    return {"Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"]}]}


def start_stores():
    """Starts both stores. Returns (info dict as written by --info, stop function)."""
    users = {"publisher": bucket_policy("s3:PutObject", "s3:GetObject", "s3:ListBucket"), "builder": bucket_policy("s3:GetObject")}
    s3, s3_endpoint, keys = start_authenticated_s3_users(users, lambda client: client.create_bucket(Bucket=BUCKET))
    azure, azure_endpoint = azure_server.start(containers=(CONTAINER,))

    def aws_env(key):
        return {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"],
                "AWS_ENDPOINT_URL": s3_endpoint, "AWS_REGION": "us-east-1"}

    account = azure_server.ACCOUNT
    info = {
        "s3": {"endpoint": s3_endpoint, "bucket": BUCKET, "store": f"s3://{BUCKET}/{PREFIX}",
               "publisher": aws_env(keys["publisher"]), "builder": aws_env(keys["builder"])},
        "azure": {"account": account, "container": CONTAINER, "endpoint": azure_endpoint,
                  "store": f"https://{account}.blob.core.windows.net/{CONTAINER}/{PREFIX}",
                  "publisher": {"AZURE_STORAGE_CONNECTION_STRING": azure.connection_string()},
                  "builder": {"AZURE_STORAGE_CONNECTION_STRING": azure.connection_string(sas=azure.container_sas(CONTAINER))}},
    }

    def stop():
        azure.shutdown()
        azure.server_close()
        s3.stop()

    return info, stop


def watch_stdin(done):
    """Sets `done` when stdin, if it is a pipe, socket or terminal, reaches EOF."""
    try:
        mode = os.fstat(0).st_mode
    except OSError:
        return
    if not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or os.isatty(0)):
        return

    def read():
        while os.read(0, 65536):
            pass
        done.set()

    threading.Thread(target=read, daemon=True).start()


def main():
    ap = argparse.ArgumentParser(description="S3 (moto) and Azure Blob stores for the pipeline rehearsal")
    ap.add_argument("--info", required=True, help="file to write the stores' JSON description to, once both are ready")
    args = ap.parse_args()
    if os.path.exists(args.info):
        os.remove(args.info)  # never leave a stale description for a waiting reader
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    info, stop = start_stores()
    try:
        tmp = args.info + ".tmp"
        if os.path.exists(tmp):
            os.remove(tmp)
        with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
            json.dump(info, f, indent=2)
            f.write("\n")
        os.replace(tmp, args.info)
        print(f"stores ready: s3 {info['s3']['endpoint']}, azure {info['azure']['endpoint']}; description in {args.info}", flush=True)
        watch_stdin(done)
        while not done.wait(1):  # short waits so the signal handlers run promptly
            pass
    finally:
        if os.path.exists(args.info):
            os.remove(args.info)
        stop()


if __name__ == "__main__":
    main()
