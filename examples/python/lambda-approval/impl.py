# Lambda approval (Assent's own example): the company's access policy lives in an AWS Lambda
# function. Each request is put to it; when it answers `{"approve": true}` the request is
# approved at once, otherwise (or if the function fails) it waits for an approver in the
# flow's channel. Assent signs the call with the environment's `aws` integration; the key
# never reaches this code.
from sym.sdk.annotations import hook, reducer
from sym.sdk.exceptions import AWSLambdaError
from sym.sdk.integrations import aws_lambda, slack
from sym.sdk.templates import ApprovalTemplate


@reducer
def get_approvers(event):
    return slack.channel(event.flow.vars.get("approvals_channel", "#access-requests"))


@hook
def on_request(event):
    question = {"email": event.user.email, "reason": event.payload.fields.get("reason")}
    try:
        answer = aws_lambda.invoke(event.flow.vars["policy_lambda"], question)
    except AWSLambdaError as error:
        print(f"the policy function failed, so a person decides: {error}")
        return None
    if answer.get("approve"):
        return ApprovalTemplate.approve(reason=answer.get("reason", "approved by policy"))
