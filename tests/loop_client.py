"""A botocore client calling AWS once a second for N seconds: `python loop_client.py N`.

It uses the default credential chain (AWS_PROFILE, or exec's credential endpoint), prints
one line per call and exits 1 if any call failed.
"""

import os
import sys
import time

import botocore.session

seconds = float(sys.argv[1])
client = botocore.session.Session().create_client("sts", endpoint_url=os.environ["LOCAL_AWS_ENDPOINT"])
failed = 0
start = time.monotonic()
tick = start
while time.monotonic() - start < seconds:
    try:
        print("ok", client.get_caller_identity()["Arn"], flush=True)
    except Exception as error:  # every failure counts, whatever its kind
        failed += 1
        print("FAIL", error, flush=True)
    tick += 1
    time.sleep(max(tick - time.monotonic(), 0))
sys.exit(1 if failed else 0)
