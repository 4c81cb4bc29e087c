"""Errors a plugin may raise. The host reports them with their class name and message."""


class SymException(Exception):
    """The base of the SDK's errors."""

    def __init__(self, message="", error_type=None):
        super().__init__(message)
        self.message = message
        self.error_type = error_type or type(self).__name__

    def __str__(self):
        return self.message


class SymIntegrationError(SymException):
    pass


class AccessStrategyError(SymException):
    pass


class IdentityError(SymException):
    pass


class SlackError(SymIntegrationError):
    pass


class MissingArgument(SymException):
    pass
