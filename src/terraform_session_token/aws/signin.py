"""An `aws login` session as the source identity: botocore reads the AWS CLI's login cache and,
when the access token has (almost) run out, refreshes it with the sign-in service
(CreateOAuth2Token), which rotates the refresh token and rewrites the cache."""

from __future__ import annotations

import botocore.exceptions

from .. import sessions, storage
from ..errors import CredentialsError
from .errors import translate


def freeze_login_credentials(connection) -> None:
    """Under one lock of ours, so that parallel runs refresh the login once; the credentials it
    gives are then used as they are for this run's calls (a run takes seconds; they last at least
    five minutes)."""
    settings = connection.settings
    connection.source_label = f"the aws login session of profile [{settings.source_profile}]"
    with storage.locked(sessions.lock_file("login--" + settings.login_session)):
        try:
            creds = connection.session.get_credentials()
            frozen = creds.get_frozen_credentials() if creds is not None else None
        except botocore.exceptions.BotoCoreError as e:
            raise translate(e, settings) from None
        except botocore.exceptions.ClientError as e:
            code = e.response.get("Error", {}).get("Code", "")
            raise CredentialsError(
                f"AWS refused to refresh the aws login session of source profile [{settings.source_profile}] ({code})",
                f"run: aws login --profile {settings.source_profile}",
            ) from None
    if frozen is not None:
        connection.session.set_credentials(frozen.access_key, frozen.secret_key, frozen.token)
