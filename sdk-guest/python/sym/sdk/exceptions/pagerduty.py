"""Errors of pagerduty, as Sym's SDK names them."""

from sym.sdk.exceptions.sym_exception import SymException


class PagerDutyError(SymException):
    def __init__(self, name="", message="", error_type="PagerDuty"):
        SymException.__init__(self, error_type, name, message)
