"""Identity errors, as Sym's SDK names them."""

from sym.sdk.exceptions.sym_exception import ExceptionWithHint, SymException


class IdentityError(SymException):
    def __init__(self, name="", message="", error_type="Identity"):
        super().__init__(error_type, name, message)


class CouldNotSaveError(IdentityError):
    def __init__(self, message=""):
        super().__init__("COULD_NOT_SAVE", message)


class IdentityNotFound(IdentityError, ExceptionWithHint):
    """The user has no identity in a service and none could be fetched."""

    def __init__(self, email="", service_id=""):
        IdentityError.__init__(
            self, "NOT_FOUND", f"no identity of `{email}` was found for `{service_id}`"
        )
        self._hint = "give the user an identity for the service (PUT /api/v1/users/{email} with `identities`)"
