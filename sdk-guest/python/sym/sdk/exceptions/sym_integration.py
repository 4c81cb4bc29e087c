"""Errors of sym integration, as Sym's SDK names them."""

from sym.sdk.exceptions.sym_exception import SymException


class SymIntegrationError(SymException):
    def __init__(self, name="", message="", error_type="SymIntegration"):
        SymException.__init__(self, error_type, name, message)
