"""Errors of aptible, as Sym's SDK names them."""

from sym.sdk.exceptions.sym_exception import SymException


class AptibleError(SymException):
    def __init__(self, name="", message="", error_type="Aptible"):
        SymException.__init__(self, error_type, name, message)
