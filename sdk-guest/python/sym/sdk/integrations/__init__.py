"""Integration helpers."""

from sym.sdk.integrations import slack

__all__ = ["slack"]
