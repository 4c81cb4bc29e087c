# "How to Notify a user specified in a prompt form": the source channel and (if asked) the
# requester, then a channel, then two users, each with a 15 s timeout. From Sym's docs; the
# page leaves out `get_permissions` and the `user` import, and redacts the email.
from sym.sdk.annotations import reducer
from sym.sdk.notifications import Notification
from sym.sdk.integrations import slack
from sym.sdk.request_permission import PermissionLevel, RequestPermission
from sym.sdk.user import user


@reducer
def get_permissions(event):
    return RequestPermission(
        webapp_view=PermissionLevel.ADMIN,
        approve_deny=PermissionLevel.MEMBER,
        allow_self_approval=False
    )


@reducer
def get_request_notifications(event):
    destinations = []
    if source_channel_identifier := event.run.source_channel.identifier:
        # If the request came from Slack, try to send it to the channel it came from.
        # (Only requests from Slack have a `source_channel.identifier` set)
        destinations.append(slack.channel(source_channel_identifier))

    # Send to the requester based on a field in the prompt form
    if event.payload.fields["notify_requester"]:
        destinations.append(event.user)

    # If first request is not actioned in 15s or all messages fail to send it will forward to a slack channel and then to a list of users to email, and then expire after another 15s.
    return [
        Notification(destinations=destinations, timeout=15),
        Notification(destinations=[slack.channel("#test-paginate-10")], timeout=15),
        Notification(destinations=[user(email='oncall@example.com'), user(id="test_id"), ], timeout=15)
    ]
