"""terraform-session-token: MFA-protected AWS role sessions for Terraform and every AWS tool."""

__version__ = "2.0.0"
