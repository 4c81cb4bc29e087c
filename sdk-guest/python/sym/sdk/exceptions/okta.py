"""Errors of okta, as Sym's SDK names them."""

from sym.sdk.exceptions.sym_exception import SymException


class OktaError(SymException):
    def __init__(self, name="", message="", error_type="Okta"):
        SymException.__init__(self, error_type, name, message)
