# Deploy approvals (Assent's own example): staging deploys asked for through the API are
# approved at once; production deploys go to #deploys, then #deploy-leads, each waiting
# 30 minutes; only the flow's `deployers` may approve, and the requester may withdraw.
# It uses the parts of Sym's SDK that need no outside system: templates, targets, users,
# channels, destination timeouts and the exceptions module.
from sym.sdk import SymSDKError
from sym.sdk.annotations import hook, reducer
from sym.sdk.exceptions import AccessStrategyError, SymException
from sym.sdk.integrations import slack
from sym.sdk.notifications import Notification
from sym.sdk.request_permission import PermissionLevel, RequestPermission
from sym.sdk.templates import ApprovalTemplate, ApprovalTemplateStep, Template, get_step_output
from sym.sdk.user import user_ids


def deployers(event):
    return [email.strip() for email in event.flow.vars.get("deployers", "").split(",") if email.strip()]


@reducer
def get_permissions(event):
    return RequestPermission(
        webapp_view=PermissionLevel.MEMBER,
        approve_deny=PermissionLevel.MEMBER,
        allow_self_approval=False,
    )


@reducer
def get_request_notifications(event):
    # Each channel keeps the request for 30 minutes before it moves on.
    return [
        Notification(destinations=[slack.channel("#deploys", timeout=1800)]),
        Notification(destinations=[slack.channel("#deploy-leads", timeout=1800)]),
    ]


def staging_from_api(event):
    target = event.payload.fields.get("target")
    if target is None:
        raise SymSDKError("the flow has no `target` field", hint="add a target field to the flow")
    return target.slug == "staging" and event.channel.type == "api"


@hook
def on_request(event):
    if staging_from_api(event):
        target = event.payload.fields["target"]
        return ApprovalTemplate.approve(reason=f"Staging deploy of {target.label}, asked for by {event.channel.type}")


@hook
def on_approve(event):
    # The approval `on_request` gives a staging deploy comes through here too.
    if not staging_from_api(event) and event.user.username not in deployers(event):
        return Template.ignore(message=f"{event.user.email} is not one of this flow's deployers.")


@hook
def on_deny(event):
    requester = event.get_actor(ApprovalTemplateStep.REQUEST)
    if event.user != requester and event.user.username not in deployers(event):
        return ApprovalTemplate.ignore(message="Only deployers, or the requester, may deny.")


@hook
def on_escalate(event):
    try:
        if event.user.type == "bot":
            raise AccessStrategyError("BOT", "bots may not be given deploy access")
    except SymException as error:
        return ApprovalTemplate.deny(reason=f"{error.error_code}: {error.message}")
    # Nothing has been granted yet, so there is no escalate output.
    if get_step_output(ApprovalTemplateStep.ESCALATE):
        return ApprovalTemplate.deny(reason="escalated twice")
    if not user_ids([event.user]):
        return ApprovalTemplate.deny(reason="the approver has no id")
