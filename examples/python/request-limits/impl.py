# Request limits (Assent's own example): a person may have `weekly_limit` requests of this
# flow approved in seven days; the flow's `approver` approves them and is added to the
# organisation if they are new; each requester's ticket-system account is kept on them.
# It uses the parts of Sym's SDK that ask the host about people: User.get_event_count,
# sym.sdk.utils.persist_user_identity and the sym integration's get_or_create_user_by_email.
from datetime import datetime, timedelta, timezone

from sym.sdk.annotations import hook, reducer
from sym.sdk.integrations.sym import get_or_create_user_by_email
from sym.sdk.request_permission import PermissionLevel, RequestPermission
from sym.sdk.templates import ApprovalTemplate
from sym.sdk.utils import persist_user_identity


@reducer
def get_permissions(event):
    approver = get_or_create_user_by_email(event.flow.vars["approver"])
    return RequestPermission(
        webapp_view=PermissionLevel.ADMIN,
        approve_deny=[approver],
        allow_self_approval=False,
    )


@hook
def on_request(event):
    limit = int(event.flow.vars.get("weekly_limit", "2"))
    week_ago = datetime.now(timezone.utc) - timedelta(days=7)
    approved = event.user.get_event_count("approve", since=week_ago)
    if approved >= limit:
        return ApprovalTemplate.ignore(
            message=f"You have had {approved} requests approved this week; the limit is {limit}."
        )
    persist_user_identity(
        email=event.user.email,
        service="tickets",
        service_id="helpdesk",
        user_id="T-" + event.user.email.split("@")[0],
    )
