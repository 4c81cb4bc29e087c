"""Errors of google, as Sym's SDK names them."""

from sym.sdk.exceptions.sym_exception import SymException


class GoogleError(SymException):
    def __init__(self, name="", message="", error_type="Google"):
        SymException.__init__(self, error_type, name, message)
