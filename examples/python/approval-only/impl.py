# "Implement Your First Flow": requests go to the channel in the flow's vars, and only the
# approvers safelist may approve (the safelist or the requester may deny).
# From Sym's docs, unchanged except the `return` line the page's rendering dropped.

# First, we'll import everything we need for this
from sym.sdk.annotations import hook, reducer
from sym.sdk.integrations import slack
from sym.sdk.templates import ApprovalTemplate

# Then, we add our first reducer! `get_approvers` will be used any time a request
# is made in Sym.
def get_approvers(event):
    """Route Sym requests to a channel specified in the sym_flow."""

    flow_vars = event.flow.vars  # This is how we get the sym_flow.vars we set above

    # Returning a Slack channel object will tell Sym where to send the request.
    # allow_self then lets the requester approve themself, which is great for testing!
    return slack.channel(flow_vars["request_channel"], allow_self=True)


def on_approve(event):
    """Only let members of the approver safelist approve requests."""

    # Use a helper function for common logic across hooks!
    if not has_approve_access(event):
        # Return an "ignore" event that will stop the "approve" event (leaving the
        # request's state unchanged) and send a DM to the user who clicked "Approve"
        # letting them know they're not allowed to approve the request.
        return ApprovalTemplate.ignore(
            message="You are not authorized to approve this request."
        )


def on_deny(event):
    """Only let members of the approve safelist or the original requester
    deny requests."""
    # The Sym User that made the request
    requester = event.get_actor("request")

    # event.user is the user who just clicked the "Deny" button
    if not (requester == event.user or has_approve_access(event)):
        return ApprovalTemplate.ignore(
            message="You are not authorized to deny this request."
        )


def has_approve_access(event):
    """Check if the requesting user is in the safelist, defined in the sym_flow."""

    flow_vars = event.flow.vars
    approvers = flow_vars["approvers"].split(",")
    return event.user.username in approvers
