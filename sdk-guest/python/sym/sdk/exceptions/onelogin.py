"""Errors of onelogin, as Sym's SDK names them."""

from sym.sdk.exceptions.sym_exception import SymException


class OneLoginError(SymException):
    def __init__(self, name="", message="", error_type="OneLogin"):
        SymException.__init__(self, error_type, name, message)
