"""Errors of slack, as Sym's SDK names them."""

from sym.sdk.exceptions.sym_exception import SymException


class SlackError(SymException):
    def __init__(self, name="", message="", error_type="Slack"):
        SymException.__init__(self, error_type, name, message)
