# Support access (Assent's own example), laid out as Sym's Terraform lays out a flow with
# conditional fields: this file is the flow's `implementation`, and `on_change.py` is the
# `on_change` file of its `role` prompt field. Build them into one plugin with
#
#     assent plugin build impl.py --with on_change.py
#
# The `customer` field's choices come from the flow's `customers` var (`@prefetch`); it is
# shown, and required, only for the `support` role (on_change.py). Admins approve.
from sym.sdk.annotations import prefetch, reducer
from sym.sdk.forms import FieldOption
from sym.sdk.request_permission import PermissionLevel, RequestPermission


@prefetch(field_name="customer")
def customers(event):
    names = [name.strip() for name in event.flow.vars.get("customers", "").split(",")]
    return [FieldOption(value=name.lower(), label=name) for name in names if name]


@reducer
def get_permissions(event):
    return RequestPermission(
        webapp_view=PermissionLevel.MEMBER,
        approve_deny=PermissionLevel.ADMIN,
        allow_self_approval=False,
    )
