# Flows filter (Sym's `sym_flows_filter`, Assent's own example): flows whose names start with
# `prod-` are offered only to the people in the filter's `oncall` var (comma-separated
# emails); everyone sees the rest. Set it with PUT /api/v1/flows-filter.
from sym.sdk.annotations import reducer


@reducer
def get_flows(user, flows, flows_filter_vars):
    oncall = {email.strip() for email in flows_filter_vars.get("oncall", "").split(",") if email.strip()}
    if user.email in oncall:
        return flows
    return [flow for flow in flows if not flow.name.startswith("prod-")]
