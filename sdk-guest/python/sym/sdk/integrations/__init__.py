"""Integration helpers."""

from sym.sdk.integrations import slack, sym

__all__ = ["slack", "sym"]
