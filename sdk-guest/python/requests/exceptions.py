"""The errors of `requests`, by its names, so `except requests.exceptions.HTTPError` works."""


class RequestException(IOError):
    """The base of every error a request raises; `response` is the answer, if one came."""

    def __init__(self, *args, response=None, request=None):
        super().__init__(*args)
        self.response = response
        self.request = request


class HTTPError(RequestException):
    """`raise_for_status()` on a 4xx or 5xx answer."""


class ConnectionError(RequestException):  # noqa: A001 - requests' own name
    """The host could not be reached, or the host refused to make the request (not an allowed
    host, plain http, a private address)."""


class Timeout(RequestException):
    """No answer in time."""


class ConnectTimeout(ConnectionError, Timeout):
    pass


class ReadTimeout(Timeout):
    pass


class TooManyRedirects(RequestException):
    pass


class InvalidURL(RequestException, ValueError):
    pass


class JSONDecodeError(RequestException, ValueError):
    """`.json()` on a body that is not JSON."""
