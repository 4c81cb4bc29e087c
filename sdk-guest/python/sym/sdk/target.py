"""What a strategy grants access to."""


class AccessTarget:
    def __init__(self, id="", name="", label="", settings=None):
        self.id = id
        self.name = name
        self.label = label
        self.settings = dict(settings or {})

    @property
    def slug(self):
        """The target's name, as Sym's resources call it."""
        return self.name

    def __eq__(self, other):
        return isinstance(other, AccessTarget) and self.id == other.id

    def __hash__(self):
        return hash(self.id)

    def __repr__(self):
        return f"AccessTarget({self.name!r})"
