"""The source identity's botocore session for one run: its credentials (the files, the OS keyring,
an `aws login` session), the clients made from it, and the total deadline of one call."""

from __future__ import annotations

import contextlib
import os
import threading
import time
import warnings

import botocore.exceptions
import botocore.loaders
import botocore.parsers
import botocore.session
from botocore.config import Config

from .. import storage
from ..errors import CredentialsError, NetworkError
from ..profiles import Settings
from .errors import NOT_AWS_HINT, translate

# sts and iam for the tool's own calls; signin, sso and sso-oidc for botocore's credential
# providers of a source profile (aws login, IAM Identity Center), which call services of their own.
SERVICES = ("sts", "iam", "signin", "sso", "sso-oidc")
CONNECT_TIMEOUT = 5
READ_TIMEOUT = 15
DEADLINE = 30.0  # seconds for one AWS call, retries included


def call_deadline() -> float:
    """The total time one AWS call may take: TERRAFORM_SESSION_TOKEN_AWS_DEADLINE, else 30 s."""
    try:
        value = float(os.environ.get("TERRAFORM_SESSION_TOKEN_AWS_DEADLINE") or DEADLINE)
    except ValueError:
        return DEADLINE
    return max(value, 0.1) if value < float("inf") else DEADLINE  # nan and inf: the default


class _KnownServicesLoader(botocore.loaders.Loader):
    """botocore's data loader, told which services exist instead of listing its ~400 model
    directories on every client creation (about 30 ms of a refresh). Models load as usual."""

    def list_available_services(self, type_name):
        return list(SERVICES)


def install_loader(session) -> None:
    paths = session.get_config_variable("data_path")  # AWS_DATA_PATH keeps working
    extra = [os.path.expanduser(p) for p in paths.split(os.pathsep)] if paths else []
    session.register_component("data_loader", _KnownServicesLoader(extra_search_paths=extra))


def client_config(attempts: int = 3) -> Config:
    return Config(
        retries={"total_max_attempts": attempts, "mode": "standard"},
        connect_timeout=CONNECT_TIMEOUT,
        read_timeout=READ_TIMEOUT,
    )


class Connection:
    """One run's botocore session of the source identity; the service classes (Sts, Iam) call
    AWS through it."""

    def __init__(
        self,
        settings: Settings,
        source_profile_exists: bool = True,
        source_keys=None,
        deadline: float | None = None,
        wait_limit: float | None = None,
    ):
        """`source_keys`: the source profile's long-term keys from the OS keyring (or a function
        that reads them), if kept there; read only when a call needs them. `deadline`: the run's
        own (time.monotonic()), when it has one (credential-process's --timeout, `wait_limit`)."""
        storage.no_core_dumps()
        self.settings = settings
        self.deadline, self.wait_limit = deadline, wait_limit
        try:
            if source_profile_exists or settings.source_explicit:
                self.session = botocore.session.Session(profile=settings.source_profile)
            else:
                # No [default] in the files: the AWS_ACCESS_KEY_ID family may still be set.
                # AWS_PROFILE must not pick the source behind the user's back.
                os.environ.pop("AWS_PROFILE", None)
                os.environ.pop("AWS_DEFAULT_PROFILE", None)
                self.session = botocore.session.Session()
            install_loader(self.session)
            # Clients botocore makes on its own (the aws login refresh) time out as the tool's do.
            self.session.set_default_client_config(client_config())
            if settings.sts_regional_endpoints:
                self.session.set_config_variable("sts_regional_endpoints", settings.sts_regional_endpoints)
            self._clients: dict[tuple, object] = {}
            self.source_label = f"profile [{settings.source_profile}]" if source_profile_exists else "the environment"
            # The keyring is read only when a call needs the source keys: with a cached MFA session,
            # a refresh needs none (a keyring locked during a long apply does not matter then).
            self._source_keys = source_keys
            self._source_checked = False
        except botocore.exceptions.BotoCoreError as e:
            raise translate(e, settings) from e
        if not settings.verify_ssl:
            quiet_insecure_warnings()

    @property
    def sts(self):
        from .sts import Sts

        return Sts(self)

    @property
    def iam(self):
        from .iam import Iam

        return Iam(self)

    def time_left(self, limit: float) -> tuple[float, float]:
        """(seconds a step that may take `limit` has, the wait to name if it runs out): `limit`, or
        what is left of the run's own deadline (at least 1 s) when that ends first, named as the
        wait the user set."""
        if self.deadline is None or self.deadline - time.monotonic() >= limit:
            return limit, limit
        left = max(self.deadline - time.monotonic(), 1.0)
        return left, self.wait_limit if self.wait_limit is not None else left

    def verify(self):
        if not self.settings.verify_ssl:
            return False
        return self.settings.ca_bundle or None  # None: botocore applies AWS_CA_BUNDLE / ca_bundle

    def _load_source_keys(self) -> None:
        keys = self._source_keys
        self._source_keys = None
        if callable(keys):
            keys = keys()
        if keys is not None:
            self.session.set_credentials(keys.access_key_id, keys.secret_access_key)
            self.source_label = f"profile [{self.settings.source_profile}] (keys in the OS keyring)"

    def client(self, service: str, credentials=None, attempts: int = 3):
        """A client signing with the source, or with `credentials` (a Session or long-term Keys)."""
        if credentials is None and not self._source_checked:
            self.check_source_credentials()
        key = (service, credentials.access_key_id if credentials else "", attempts)
        if key not in self._clients:
            extra = {}
            if credentials:
                extra = dict(
                    aws_access_key_id=credentials.access_key_id,
                    aws_secret_access_key=credentials.secret_access_key,
                    aws_session_token=getattr(credentials, "session_token", None) or None,
                )
            try:
                self._clients[key] = self.session.create_client(
                    service,
                    region_name=self.settings.region,
                    endpoint_url=self.settings.endpoint_url,
                    verify=self.verify(),
                    config=client_config(attempts),
                    **extra,
                )
            except botocore.exceptions.BotoCoreError as e:
                raise translate(e, self.settings) from e
        return self._clients[key]

    def check_source_credentials(self) -> None:
        """The source keys are there (loaded from the keyring if kept there), checked once."""
        self._load_source_keys()
        self._source_checked = True
        if self.settings.login_session:
            from .signin import freeze_login_credentials

            freeze_login_credentials(self)
        try:
            creds = self.session.get_credentials()
        except botocore.exceptions.BotoCoreError as e:
            raise translate(e, self.settings) from e
        if creds is None and self.source_label == "the environment":
            name = self.settings.source_profile
            raise CredentialsError(
                f"source profile [{name}] not found in the credentials or config file",
                f"create it with: aws configure --profile {name}, or pass --source-profile",
            )
        if creds is None:
            raise CredentialsError(
                f"no AWS keys found for the source {self.source_label}",
                f"add them with: aws configure --profile {self.settings.source_profile}",
            )

    def call(self, client, operation: str, **params):
        """One AWS call, with a total deadline: botocore's timeouts are per connect and per read,
        so an endpoint that trickles a byte at a time would otherwise never end."""
        outcome: dict = {}

        def call() -> None:
            try:
                outcome["value"] = getattr(client, operation)(**params)
            except BaseException as e:  # handed to the caller's thread
                outcome["error"] = e

        worker = threading.Thread(target=call, name=f"aws-{operation}", daemon=True)
        worker.start()
        worker.join(call_deadline())
        if worker.is_alive():
            url = self.settings.endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or "the AWS endpoint"
            raise NetworkError(
                f"no complete answer from {url} within {call_deadline():g} s ({operation})",
                "check the network, proxy and --endpoint-url / AWS_ENDPOINT_URL",
            )
        error = outcome.get("error")
        if isinstance(error, (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError)):
            raise translate(error, self.settings, operation) from error
        # botocore's parsers fail in their own ways on bodies that are not AWS's (HTML, garbage).
        if isinstance(error, (botocore.parsers.ResponseParserError, KeyError, ValueError, TypeError, IndexError)):
            raise NetworkError(
                f"the endpoint's answer to {operation} is not an AWS response",
                NOT_AWS_HINT,
            ) from error
        if error is not None:
            raise error
        return outcome["value"]


def quiet_insecure_warnings() -> None:
    """-v already warned once, in the tool's words: urllib3's warning per request adds nothing."""
    with contextlib.suppress(ImportError):
        import urllib3

        warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
