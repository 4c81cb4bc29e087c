"""Errors of boundary, as Sym's SDK names them."""

from sym.sdk.exceptions.sym_exception import SymException


class BoundaryError(SymException):
    def __init__(self, name="", message="", error_type="Boundary"):
        SymException.__init__(self, error_type, name, message)
