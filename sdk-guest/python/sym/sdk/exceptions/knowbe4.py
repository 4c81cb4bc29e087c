"""Errors of knowbe4, as Sym's SDK names them."""

from sym.sdk.exceptions.sym_exception import SymException


class KnowBe4Error(SymException):
    def __init__(self, name="", message="", error_type="KnowBe4"):
        SymException.__init__(self, error_type, name, message)
