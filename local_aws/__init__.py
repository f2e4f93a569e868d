"""A local AWS for tests, the demo and the benchmarks: moto's server plus the MFA rules it lacks.

moto accepts any MFA code, lets a missing role be assumed, ignores trust policies and
MaxSessionDuration, and returns fixed keys from GetSessionToken. The WSGI layer here sits
in front of moto's own app, on real HTTP, and applies AWS's rules first:

- AssumeRole/GetSessionToken token codes must be the current TOTP of the caller's device
  (one step of clock drift allowed) and a code is accepted only once, as on AWS;
- a role must exist, its trust policy must name the caller and its conditions
  (aws:MultiFactorAuthPresent, aws:MultiFactorAuthAge, sts:ExternalId) must hold;
- DurationSeconds is checked against 900..43200, the role's MaxSessionDuration and the
  one-hour cap on role chaining; GetSessionToken against 900..129600;
- GetSessionToken returns fresh keys that act as the calling user;
- AssumeRole's session policies, source identity and session tags are checked as AWS checks
  them (limits, the trust policy's sts:SetSourceIdentity and sts:TagSession, a source identity
  set once in a chain) and kept on the session: S3 and DynamoDB requests of a role session are
  allowed only by the role's own policies and its session policies together (iam.py), and the
  record of each request carries its source identity and tags;
- unknown or expired access keys are refused;
- two accounts: the users' (ACCOUNT) and OTHER_ACCOUNT, whose TerraformRole trusts the first
  with MFA; an S3 bucket answers only its own account's principals (no bucket policy is
  modelled, and AWS refuses another account's requests without one).

Every request is counted, so tests can assert how many AWS calls a command made.

One module per service behind one dispatcher (server.py): sts.py, iam.py, s3.py,
dynamodb.py, federation.py (the console's sign-in), with model.py holding what they share.
"""

from .server import ACCOUNT, OTHER_ACCOUNT, Identity, LocalAws

__all__ = ["ACCOUNT", "OTHER_ACCOUNT", "Identity", "LocalAws"]
