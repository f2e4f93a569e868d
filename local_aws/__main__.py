"""Run the local AWS on its own: `python -m local_aws --port 0 --state state.json`.

It provisions the original README's setup plus one IAM user (`alice`, with a virtual MFA
device) and Terraform's state bucket and lock table (with another stack's state to read
through terraform_remote_state), writes the endpoint and that user's keys and MFA seed to
--state as JSON, and serves until SIGTERM or Ctrl-C. `--session-lifetime SECONDS` starts
the expiring mode: every role session really ends that many seconds after it is issued.
`--aws-login HOME` also leaves what `aws login` would for alice in HOME/.aws/login/cache (its
`login_session` value is in --state as `login_session`), so a `login_session` source profile
can be tried without the AWS CLI v2.
"""

import argparse
import json
import os
import signal
import sys
import threading

from . import LocalAws, terraform


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m local_aws")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free)")
    parser.add_argument("--state", help="write endpoint, keys and MFA seed here (JSON)")
    parser.add_argument("--session-lifetime", type=float, help="role sessions end after this many seconds")
    parser.add_argument("--aws-login", metavar="HOME", help="write alice's aws login cache under HOME/.aws/login/cache")
    args = parser.parse_args()
    aws = LocalAws(args.port, session_lifetime=args.session_lifetime).start()
    alice = aws.new_identity("alice")
    aws.create_state_backend(terraform.BUCKET, terraform.TABLE)
    aws.put_object(terraform.BUCKET, terraform.NETWORK_KEY, terraform.NETWORK_STATE)
    state = {"endpoint": aws.endpoint, "pid": os.getpid(), "alice": alice.as_dict()}
    if args.aws_login:
        aws.write_login_cache(alice, args.aws_login, alice.arn)
        state["login_session"] = alice.arn
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
