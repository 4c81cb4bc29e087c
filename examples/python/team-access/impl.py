# Team access (Assent's own example): the requester picks a team from the choices in the
# flow's `teams` var ("value:label,..."), fetched as the form opens (`@prefetch`). Picking
# `prod` shows a required change-ticket field and allows at most an hour (`on_change_team`,
# which Slack runs as the field changes). Admins approve.
from sym.sdk.annotations import prefetch, reducer
from sym.sdk.field_option import FieldOption
from sym.sdk.forms import SymPromptForm
from sym.sdk.request_permission import PermissionLevel, RequestPermission

TICKETED = {"prod"}
SHORT = ("30m", "1h")


@prefetch(field_name="team")
def team_choices(event):
    choices = []
    for pair in event.flow.vars.get("teams", "").split(","):
        value, _, label = pair.partition(":")
        if value.strip():
            choices.append(FieldOption(value=value.strip(), label=label.strip() or value.strip()))
    return choices


def on_change_team(username: str, form: SymPromptForm) -> SymPromptForm:
    ticketed = form.fields["team"].value in TICKETED
    ticket = form.fields["ticket"]
    ticket.visible = ticketed
    ticket.required = ticketed
    ticket.label = "Change ticket" if ticketed else None
    duration = form.fields["duration"]
    duration.current_allowed_values = [
        option for option in duration.original_allowed_values if not ticketed or option.value in SHORT
    ]
    return form


@reducer
def get_permissions(event):
    return RequestPermission(
        webapp_view=PermissionLevel.MEMBER,
        approve_deny=PermissionLevel.ADMIN,
        allow_self_approval=False,
    )
