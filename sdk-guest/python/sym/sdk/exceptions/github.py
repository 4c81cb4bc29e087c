"""Errors of github, as Sym's SDK names them."""

from sym.sdk.exceptions.sym_exception import SymException


class GitHubError(SymException):
    def __init__(self, name="", message="", error_type="GitHub"):
        SymException.__init__(self, error_type, name, message)
