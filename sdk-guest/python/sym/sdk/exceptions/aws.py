"""Errors of aws, as Sym's SDK names them."""

from sym.sdk.exceptions.sym_exception import SymException


class AWSError(SymException):
    def __init__(self, name="", message="", error_type="AWS"):
        SymException.__init__(self, error_type, name, message)


class AWSLambdaError(AWSError):
    def __init__(self, name="", message="", error_type="AWSLambda"):
        SymException.__init__(self, error_type, name, message)


class AWSIAMError(AWSError):
    def __init__(self, name="", message="", error_type="AWSIAM"):
        SymException.__init__(self, error_type, name, message)


class AWSSSOError(AWSError):
    def __init__(self, name="", message="", error_type="AWSSSO"):
        SymException.__init__(self, error_type, name, message)
