"""Run the local AWS on its own: `python -m local_aws --port 0 --state state.json`.

It provisions the original README's setup plus one IAM user (`alice`, with a virtual MFA
device), writes the endpoint and that user's keys and MFA seed to --state as JSON, and
serves until SIGTERM or Ctrl-C.
"""

import argparse
import json
import os
import signal
import sys
import threading

from . import LocalAws


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m local_aws")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free)")
    parser.add_argument("--state", help="write endpoint, keys and MFA seed here (JSON)")
    args = parser.parse_args()
    aws = LocalAws(args.port).start()
    alice = aws.new_identity("alice")
    state = {"endpoint": aws.endpoint, "pid": os.getpid(), "alice": alice.as_dict()}
    if args.state:
        tmp = args.state + ".tmp"
        with open(tmp, "w") as f:
            json.dump(state, f)
        os.replace(tmp, args.state)  # readers see the whole file or none
    print(f"local AWS listening on {aws.endpoint}", file=sys.stderr, flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    aws.stop()


if __name__ == "__main__":
    main()
