"""Integration helpers."""

from sym.sdk.integrations import okta, pagerduty, slack, sym

__all__ = ["okta", "pagerduty", "slack", "sym"]
