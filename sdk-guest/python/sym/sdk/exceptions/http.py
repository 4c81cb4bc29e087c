"""Errors of http, as Sym's SDK names them."""

from sym.sdk.exceptions.sym_exception import SymException


class HTTPError(SymException):
    def __init__(self, name="", message="", error_type="HTTP"):
        SymException.__init__(self, error_type, name, message)
