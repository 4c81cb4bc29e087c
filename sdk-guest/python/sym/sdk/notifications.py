"""Where a request is announced."""


class Notification:
    """Destinations notified together; `timeout` seconds unanswered, the next one is sent."""

    def __init__(self, destinations, timeout=None):
        self.destinations = list(destinations)
        self.timeout = timeout

    def __repr__(self):
        return f"Notification({self.destinations!r}, timeout={self.timeout!r})"
