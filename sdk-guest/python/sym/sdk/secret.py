"""Secrets, as integrations reference them (Sym's `sym.sdk.secret`)."""

from sym.sdk.exceptions.sym_integration import SymIntegrationError


class Secret:
    """A secret an integration's setting names. Its value stays with the host until
    `retrieve_value()` asks for it; each retrieval is in the run's audit log."""

    def __init__(self, integration, setting, name):
        self._integration = integration
        self._setting = setting
        self.id = name
        self.path = name
        self.settings = {}

    def retrieve_value(self):
        """The secret's value."""
        from assent_guest import host

        return host.secret(self._integration, self._setting, SymIntegrationError)

    def __repr__(self):
        return f"Secret({self.id!r})"


class SecretSource:
    """Where secrets are kept: with Assent, sealed in its own database."""

    type = "assent"
    settings = {}
