"""An `aws login` session as the source identity: botocore reads the AWS CLI's login cache and,
when the access token has (almost) run out, refreshes it with the sign-in service
(CreateOAuth2Token), which rotates the refresh token and rewrites the cache."""

from __future__ import annotations

import os
import threading
import time

import botocore.exceptions
import botocore.parsers

from .. import login_cache, storage
from ..errors import CredentialsError, NetworkError
from .connection import call_deadline
from .errors import NOT_AWS_HINT, TOKEN, translate

ANSWER_EVENT = "after-call.signin.CreateOAuth2Token"


class _NotAws(Exception):
    """The sign-in service's 200 answer is not the shape AWS gives (a captive portal, a proxy)."""


def _check_answer(http_response=None, parsed=None, **kwargs) -> None:
    """Before botocore takes a refresh's answer apart: a 200 with AWS's tokenOutput, or _NotAws."""
    if http_response is None or http_response.status_code >= 300:
        return  # botocore turns AWS's refusals into its own errors
    output = parsed.get("tokenOutput") if isinstance(parsed, dict) else None
    access = output.get("accessToken") if isinstance(output, dict) else None
    fine = (
        isinstance(access, dict)
        and all(isinstance(access.get(k), str) and TOKEN.fullmatch(access[k])
                for k in ("accessKeyId", "secretAccessKey", "sessionToken"))
        and isinstance(output.get("refreshToken"), str)
        and TOKEN.fullmatch(output["refreshToken"])
        and type(output.get("expiresIn")) is int
        and 0 < output["expiresIn"] <= 86400
    )  # fmt: skip
    if not fine:
        raise _NotAws()


def freeze_login_credentials(connection) -> None:
    """Refresh the login (when its access token has run out) once for all parallel runs, and use
    what it gives as it is for this run's calls (a run takes seconds; they last at least five
    minutes).

    The cache is checked first (one line naming the file). The refresh waits for the lock of the
    cache file's real directory, which every run reaching that file takes whatever its AWS files
    or cache directory, and it ends, lock wait included, within one AWS call's deadline (and the
    run's own, under credential-process): a sign-in service that never answers ends there.
    """
    settings = connection.settings
    source = settings.source_profile
    connection.source_label = f"the aws login session of profile [{source}]"
    path = login_cache.check(settings.login_session, source)
    limit, shown = connection.time_left(call_deadline())
    started = time.monotonic()
    try:
        fd = storage.lock_directory_within(login_cache.lock_directory(path), limit)
    except OSError as e:
        raise CredentialsError(
            f"can't lock the directory of the aws login cache {path}: {e.strerror}",
            "make the directory readable by you, or set AWS_LOGIN_CACHE_DIRECTORY",
        ) from None
    if fd is None:
        raise NetworkError(
            f"gave up after {shown:.0f} s waiting for another terraform-session-token that is refreshing the aws "
            f"login session of source profile [{source}]",
            f"the AWS sign-in service may not be answering it: check the network, or run: aws login --profile {source}",
        )
    connection.session.register(ANSWER_EVENT, _check_answer, unique_id="terraform-session-token-answer")
    outcome: dict = {}
    state = {"done": False, "abandoned": False}
    guard = threading.Lock()

    def refresh() -> None:
        try:
            creds = connection.session.get_credentials()
            outcome["value"] = creds.get_frozen_credentials() if creds is not None else None
        except BaseException as e:  # handed to the caller's thread
            outcome["error"] = e
        finally:
            with guard:
                state["done"] = True
                if state["abandoned"]:
                    os.close(fd)  # held until botocore is done with the cache, whatever it does

    worker = threading.Thread(target=refresh, name="aws-login-refresh", daemon=True)
    worker.start()
    worker.join(max(limit - (time.monotonic() - started), 0.0))
    with guard:
        if not state["done"]:
            state["abandoned"] = True
            raise NetworkError(
                f"no complete answer from the AWS sign-in service within {shown:.0f} s (refreshing the aws login "
                f"session of source profile [{source}])",
                "check the network and proxy, and AWS_ENDPOINT_URL_SIGNIN / AWS_ENDPOINT_URL",
            )
    os.close(fd)
    error = outcome.get("error")
    if error is not None:
        raise _translated(error, connection) from None
    frozen = outcome["value"]
    if frozen is not None:
        connection.session.set_credentials(frozen.access_key, frozen.secret_key, frozen.token)


def _translated(error: BaseException, connection) -> BaseException:
    settings = connection.settings
    if isinstance(error, botocore.exceptions.ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        return CredentialsError(
            f"AWS refused to refresh the aws login session of source profile [{settings.source_profile}] ({code})",
            f"run: aws login --profile {settings.source_profile}",
        )
    if isinstance(error, botocore.exceptions.BotoCoreError):
        return translate(error, settings)
    # The cache was checked: what botocore fails on now is the sign-in service's answer.
    if isinstance(error, (_NotAws, botocore.parsers.ResponseParserError, KeyError, TypeError, ValueError,
                          AttributeError, OverflowError)):  # fmt: skip
        return NetworkError(
            "the AWS sign-in service's answer to the aws login refresh is not an AWS response", NOT_AWS_HINT
        )
    return error
