"""Errors of access strategy, as Sym's SDK names them."""

from sym.sdk.exceptions.sym_exception import SymException


class AccessStrategyError(SymException):
    def __init__(self, name="", message="", error_type="AccessStrategy"):
        SymException.__init__(self, error_type, name, message)
