"""The errors of `sym.sdk.errors`, an older family beside `sym.sdk.exceptions` that Sym's
SDK still exports at the top level: a message, a hint and a documentation link."""

__all__ = ["SymIntegrationError", "SymSDKError"]


class SymSDKError(Exception):
    def __init__(self, message="", hint=None, doc_url=None):
        self.message = message
        self.hint = hint
        self.doc_url = doc_url
        super().__init__(message)

    def __str__(self):
        return f"{self.message}\n\nHint: {self.hint}" if self.hint else self.message

    def format_slack(self):
        text = f"*{self.message}*"
        if self.hint:
            text += f"\n{self.hint}"
        if self.doc_url:
            text += f"\n<{self.doc_url}|Documentation>"
        return text


class SymIntegrationError(SymSDKError):
    def __init__(self, message="", hint=None, doc_url=None, *, error_code=None, params=None):
        super().__init__(message, hint, doc_url)
        self.error_code = error_code
        self.params = dict(params or {})
