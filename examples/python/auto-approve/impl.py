# "Auto-approve": on_request approves requests from the users listed in the `auto_approve`
# var at once, with a reason saying so. From Sym's docs, unchanged.

# First, we'll import everything we need for this impl.py
from sym.sdk.annotations import hook, reducer
from sym.sdk.integrations import slack
from sym.sdk.templates import ApprovalTemplate

# Then, we add our first reducer! `get_approvers` will be used any time a request
# is made in Sym.
@reducer
def get_approvers(event):
    """Route Sym requests to a specified channel."""

    # Make sure that this channel has been created in your workspace!
    return slack.channel("#sym-requests")


@hook
def on_request(event):
    """Auto-approve people defined in the auto-approve list in the sym_flow vars"""

    # Convert the comma-separated string defined in `sym_flow.vars` into a list of emails.
    flow_vars = event.flow.vars
    auto_approve = flow_vars["auto_approve"].split(",")

    # If the user's email matches, the request will be auto-approved
    if event.user.username in auto_approve:
        original_reason = event.payload.fields.get("reason")
        new_reason = f"Auto-approved! {original_reason}"
        return ApprovalTemplate.approve(reason=new_reason)
