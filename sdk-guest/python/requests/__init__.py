"""A `requests`-compatible subset for plugins: the calls go through the flow environment's
`http` integrations, which the host sends under its outbound rules (only the integration's
allowed hosts, https, no private addresses) with the integration's auth header, so a custom
strategy written with `requests` builds and runs unchanged.

Supported: `request`, `get`, `head`, `post`, `put`, `patch`, `delete` with `params=`,
`data=`, `json=`, `headers=`, `auth=(user, password)`, `timeout=`; `Session` with `headers`;
a `Response` with `status_code`, `ok`, `reason`, `headers`, `content`, `text`, `json()`,
`url` and `raise_for_status()`; and `requests.exceptions`.
"""

import base64
import json as _json
from urllib.parse import urlencode, urlsplit, urlunsplit

from requests import exceptions
from requests.exceptions import (
    ConnectionError,
    HTTPError,
    InvalidURL,
    JSONDecodeError,
    ReadTimeout,
    RequestException,
    Timeout,
    TooManyRedirects,
)

__all__ = [
    "ConnectionError", "HTTPError", "InvalidURL", "JSONDecodeError", "ReadTimeout", "RequestException",
    "Response", "Session", "Timeout", "TooManyRedirects", "delete", "exceptions", "get", "head", "patch",
    "post", "put", "request",
]

_REASONS = {
    200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 301: "Moved Permanently", 302: "Found",
    304: "Not Modified", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 409: "Conflict", 422: "Unprocessable Entity", 429: "Too Many Requests",
    500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout",
}


class CaseInsensitiveDict(dict):
    """Headers, looked up without regard to case."""

    def __init__(self, pairs=()):
        super().__init__()
        for key, value in pairs:
            self[key] = value

    def __setitem__(self, key, value):
        super().__setitem__(key.lower(), value)

    def __getitem__(self, key):
        return super().__getitem__(key.lower())

    def __contains__(self, key):
        return super().__contains__(str(key).lower())

    def get(self, key, default=None):
        return super().get(str(key).lower(), default)


class Response:
    def __init__(self, status_code, headers, content, url):
        self.status_code = status_code
        self.headers = CaseInsensitiveDict(headers)
        self.content = content
        self.url = url
        self.reason = _REASONS.get(status_code, "")
        self.encoding = "utf-8"

    @property
    def ok(self):
        return self.status_code < 400

    @property
    def text(self):
        return self.content.decode(self.encoding or "utf-8", errors="replace")

    def json(self, **kwargs):
        try:
            return _json.loads(self.content, **kwargs)
        except ValueError as error:
            raise JSONDecodeError(f"the answer of {self.url} is not JSON: {error}", response=self) from None

    def raise_for_status(self):
        if 400 <= self.status_code < 600:
            kind = "Client" if self.status_code < 500 else "Server"
            raise HTTPError(f"{self.status_code} {kind} Error: {self.reason} for url: {self.url}", response=self)

    def __bool__(self):
        return self.ok

    def __repr__(self):
        return f"<Response [{self.status_code}]>"


def _with_params(url, params):
    if not params:
        return url
    parts = urlsplit(url)
    query = urlencode(params, doseq=True)
    joined = f"{parts.query}&{query}" if parts.query else query
    return urlunsplit((parts.scheme, parts.netloc, parts.path, joined, parts.fragment))


def _timeout_ms(timeout):
    if timeout is None:
        return None
    if isinstance(timeout, (tuple, list)):
        timeout = sum(t for t in timeout if t is not None)
    return max(1, int(float(timeout) * 1000))


def request(method, url, params=None, data=None, headers=None, json=None, auth=None, timeout=None, **ignored):
    """Sends a request through the environment's `http` integration that allows the host."""
    from componentize_py_types import Err

    from assent_guest import host

    if not isinstance(url, str) or "://" not in url:
        raise InvalidURL(f"{url!r} is not a URL; give one such as https://api.example.com/path")
    headers = {str(k): str(v) for k, v in (headers or {}).items()}
    lower = {k.lower() for k in headers}
    body = None
    if json is not None:
        body = _json.dumps(json).encode()
        if "content-type" not in lower:
            headers["Content-Type"] = "application/json"
    elif isinstance(data, dict):
        body = urlencode(data, doseq=True).encode()
        if "content-type" not in lower:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif isinstance(data, str):
        body = data.encode()
    elif data is not None:
        body = bytes(data)
    if auth is not None:
        user, password = auth
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    full = _with_params(url, params)
    try:
        status, answer_headers, content = host.fetch(
            method, full, list(headers.items()), body, _timeout_ms(timeout), None
        )
    except Err as error:
        name, message, _ = host.integration_error(error)
        if name == "TIMEOUT":
            raise ReadTimeout(message) from None
        if name in ("REFUSED", "UNAVAILABLE"):
            raise ConnectionError(message) from None
        raise RequestException(message) from None
    return Response(status, answer_headers, content, full)


def get(url, params=None, **kwargs):
    return request("GET", url, params=params, **kwargs)


def head(url, **kwargs):
    return request("HEAD", url, **kwargs)


def post(url, data=None, json=None, **kwargs):
    return request("POST", url, data=data, json=json, **kwargs)


def put(url, data=None, **kwargs):
    return request("PUT", url, data=data, **kwargs)


def patch(url, data=None, **kwargs):
    return request("PATCH", url, data=data, **kwargs)


def delete(url, **kwargs):
    return request("DELETE", url, **kwargs)


class Session:
    """A session's `headers` (and `auth`) go with each of its requests."""

    def __init__(self):
        self.headers = {}
        self.auth = None

    def request(self, method, url, headers=None, **kwargs):
        merged = {**self.headers, **(headers or {})}
        kwargs.setdefault("auth", self.auth)
        return request(method, url, headers=merged, **kwargs)

    def get(self, url, **kwargs):
        return self.request("GET", url, **kwargs)

    def post(self, url, **kwargs):
        return self.request("POST", url, **kwargs)

    def put(self, url, **kwargs):
        return self.request("PUT", url, **kwargs)

    def patch(self, url, **kwargs):
        return self.request("PATCH", url, **kwargs)

    def delete(self, url, **kwargs):
        return self.request("DELETE", url, **kwargs)

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
