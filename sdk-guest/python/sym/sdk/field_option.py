"""`FieldOption` at the path Sym's older SDK releases gave it."""

from sym.sdk.forms import FieldOption

__all__ = ["FieldOption"]
