# Backup approvers through legacy `get_approvers`, each channel with its own timeout, as
# Sym's docs show them: what contract 0.1.0 cannot carry must fail the request, clearly.
from sym.sdk.annotations import reducer
from sym.sdk.integrations import slack


@reducer
def get_approvers(event):
    return slack.fallback(
        slack.channel("#sym-requests", allow_self=True, timeout=15),
        slack.channel("#sym-backup-approvers", allow_self=True, timeout=30),
        continue_on_timeout=True,
    )
