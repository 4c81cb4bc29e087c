"""Errors of jira, as Sym's SDK names them."""

from sym.sdk.exceptions.sym_exception import SymException


class JiraError(SymException):
    def __init__(self, name="", message="", error_type="Jira"):
        SymException.__init__(self, error_type, name, message)
