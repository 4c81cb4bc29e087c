"""Errors in how the SDK was called, as Sym's SDK names them."""

from sym.sdk.exceptions.sym_exception import SymException


class SDKError(SymException):
    def __init__(self, name="", message="", error_type="SymSDK"):
        super().__init__(error_type, name, message)


class MissingArgument(SDKError):
    def __init__(self, arg="", method=""):
        super().__init__("MISSING_ARGUMENT", f"`{method}` needs the argument `{arg}`")
