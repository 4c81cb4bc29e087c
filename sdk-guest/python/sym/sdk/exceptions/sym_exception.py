"""The base of the SDK's errors, as in Sym's SDK."""


class SymException(Exception):
    """`SymException(error_type, name, message)`; `error_code` is `error_type:name`. The host
    reports an error a handler raises with its class name and message."""

    def __init__(self, error_type="", name="", message=""):
        self.error_type = error_type
        self.name = name
        self.message = message
        self.error_code = f"{error_type}:{name}"
        super().__init__(message)

    def to_dict(self):
        return {"error": True, "message": self.message, "code": self.error_code}


class ExceptionWithHint(SymException):
    """An error whose message ends with a hint on what to do."""

    def __init__(self, error_type="", name="", message="", hint=""):
        super().__init__(error_type, name, message)
        self._hint = hint

    @property
    def hint(self):
        return self._hint

    def __str__(self):
        return f"{self.message}\n\nHint: {self.hint}" if self.hint else self.message
