"""The console's sign-in token for a role session (AWS's federation endpoint, getSigninToken)."""

from __future__ import annotations

import json
import os
import threading

import botocore.exceptions
from botocore.awsrequest import AWSRequest
from botocore.httpsession import URLLib3Session
from botocore.utils import get_environ_proxies

from ..errors import AwsError, NetworkError
from ..profiles import Settings
from .connection import CONNECT_TIMEOUT, READ_TIMEOUT, call_deadline, quiet_insecure_warnings
from .errors import NOT_AWS_HINT, TOKEN


def signin_token(url: str, settings: Settings) -> str:
    """The console sign-in token for the session that `url` carries.

    Sent through botocore's HTTP layer (proxies, CA bundle) with the same total deadline as
    every AWS call. The URL holds the session's secret and the answer is a credential: no
    message or chained exception carries either.
    """
    host = url.split("?", 1)[0]
    verify = False if not settings.verify_ssl else (settings.ca_bundle or os.environ.get("AWS_CA_BUNDLE") or True)
    if not settings.verify_ssl:
        quiet_insecure_warnings()
    outcome: dict = {}

    def call() -> None:
        try:
            http = URLLib3Session(
                verify=verify, proxies=get_environ_proxies(url), timeout=(CONNECT_TIMEOUT, READ_TIMEOUT)
            )
            response = http.send(AWSRequest(method="GET", url=url, headers={"Accept": "application/json"}).prepare())
            outcome["status"], outcome["body"] = response.status_code, response.content
        except BaseException as e:  # handed to the caller's thread, never shown (it may hold the URL)
            outcome["error"] = e

    worker = threading.Thread(target=call, name="aws-federation", daemon=True)
    worker.start()
    worker.join(call_deadline())
    if worker.is_alive():
        raise NetworkError(
            f"no complete answer from {host} within {call_deadline():g} s", "check the network and proxy"
        )
    error = outcome.get("error")
    if isinstance(error, botocore.exceptions.SSLError):
        raise NetworkError(
            f"TLS certificate verification failed for {host}",
            "if a proxy inspects TLS, pass its CA with --ca-bundle PATH or AWS_CA_BUNDLE",
        ) from None
    if error is not None:
        raise NetworkError(
            f"can't reach the console sign-in at {host} ({type(error).__name__})",
            "check the network and proxy, or AWS_ENDPOINT_URL_SIGNIN",
        ) from None
    status = outcome["status"]
    if status != 200:
        raise AwsError(
            f"the AWS sign-in service refused the console sign-in (HTTP {status} from {host})",
            "the session may have expired or be of a kind the console does not take; "
            "run again with --force for a new session",
        )
    try:
        token = json.loads(outcome["body"])["SigninToken"]
    except (ValueError, KeyError, TypeError):
        token = None
    if not isinstance(token, str) or not TOKEN.fullmatch(token):
        raise NetworkError(f"the answer of {host} is not an AWS sign-in token", NOT_AWS_HINT)
    return token
