"""terraform-session-token: MFA-protected AWS role sessions for Terraform and every AWS tool."""

__version__ = "3.0.1"
