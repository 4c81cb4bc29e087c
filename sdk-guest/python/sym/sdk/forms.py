"""Prompt forms as Sym's SDK describes them: `FieldType`, `FieldOption`, `PromptField` and
`SymPromptForm` (what `on_change_<field>` handlers receive and return)."""

from collections import OrderedDict
from enum import Enum

__all__ = ["FieldOption", "FieldType", "PromptField", "SlackUserSelection", "SymPromptForm"]

# Slack cuts an option's text at 75 characters and Sym allows 55, leaving room for the
# marker Slack adds to a selected option; a longer value would be rejected when shown.
MAX_OPTION_LENGTH = 55


class FieldType(str, Enum):
    STRING = "string"
    INT = "int"
    BOOL = "bool"
    DURATION = "duration"
    SLACK_USER = "slack_user"
    SLACK_USER_LIST = "slack_user_list"
    STR_LIST = "str_list"
    INT_LIST = "int_list"
    # Assent's own: a field naming one of the flow's targets.
    TARGET = "target"


class FieldOption:
    """One choice of a field: `value` is what the flow receives, `label` what people see
    (and what typing in the menu filters on)."""

    def __init__(self, *, value=None, label=None):
        if value is None:
            raise ValueError("a FieldOption needs a `value`")
        if len(str(value)) > MAX_OPTION_LENGTH:
            raise ValueError(
                f"FieldOption value `{value}` is longer than {MAX_OPTION_LENGTH} characters"
            )
        label = str(value) if label is None else str(label)
        if len(label) > MAX_OPTION_LENGTH:
            raise ValueError(
                f"FieldOption label `{label}` is longer than {MAX_OPTION_LENGTH} characters"
            )
        self.value = value
        self.label = label

    def __eq__(self, other):
        return isinstance(other, FieldOption) and (self.value, self.label) == (other.value, other.label)

    def __hash__(self):
        return hash((str(self.value), self.label))

    def __repr__(self):
        return f"FieldOption(value={self.value!r}, label={self.label!r})"


class SlackUserSelection:
    """A Slack user picked in a form; `username` is None when they are not a known user."""

    def __init__(self, user_id, username=None):
        self.user_id = user_id
        self.username = username

    def __repr__(self):
        return f"SlackUserSelection({self.user_id!r}, {self.username!r})"


def _options(values):
    return [value if isinstance(value, FieldOption) else FieldOption(value=value) for value in values or []]


class PromptField:
    """A field of the form as it is being filled in. `name`, `type` and
    `original_allowed_values` are fixed; the rest an `on_change` handler may change.
    `required` holds only while the field is `visible`."""

    _FIXED = ("name", "type", "original_allowed_values")

    def __init__(self, name, type=FieldType.STRING, value=None, label=None, required=True,
                 allowed_values=None, visible=True):
        options = _options(allowed_values)
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "type", FieldType(getattr(type, "value", type)))
        object.__setattr__(self, "original_allowed_values", tuple(options))
        self.value = value
        self.label = label
        self.required = bool(required)
        self.current_allowed_values = list(options)
        self.visible = bool(visible)

    def __setattr__(self, name, value):
        if name in self._FIXED:
            raise AttributeError(f"`{name}` of field `{self.name}` cannot be changed")
        if name == "current_allowed_values":
            value = _options(value)
        object.__setattr__(self, name, value)

    def __repr__(self):
        return f"PromptField({self.name!r}, value={self.value!r}, visible={self.visible!r})"


class SymPromptForm:
    """The form: its `fields` in display order (change the fields, not the dict), the flow's
    `flow_vars`, and `additional_header_text` shown above the fields."""

    def __init__(self, fields=(), flow_vars=None, additional_header_text=None):
        self.fields = OrderedDict((field.name, field) for field in fields)
        self.flow_vars = dict(flow_vars or {})
        self.additional_header_text = additional_header_text

    def __repr__(self):
        return f"SymPromptForm({list(self.fields.values())!r})"
