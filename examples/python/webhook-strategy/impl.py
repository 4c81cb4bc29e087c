# A strategy over your own access API (Assent's own example): escalate asks the API for a
# grant, deescalate takes it back, both with `requests`. The calls go through the
# environment's `http` integration, which allows the API's host and adds its bearer token;
# the API also wants its key in `X-Api-Key`, read from the integration's secret.
import requests

from sym.sdk.annotations import reducer
from sym.sdk.request_permission import PermissionLevel, RequestPermission
from sym.sdk.strategies import AccessStrategy
from sym.sdk.templates import ApprovalTemplateStep
from sym.sdk.templates.step import get_step_output


@reducer
def get_permissions(event):
    return RequestPermission(
        webapp_view=PermissionLevel.MEMBER,
        approve_deny=PermissionLevel.ADMIN,
        allow_self_approval=False,
    )


def _api(event):
    integration = event.flow.environment.integrations[event.flow.vars["integration"]]
    key = integration.settings["auth_token_secret"].retrieve_value()
    return integration.settings["api_url"], {"X-Api-Key": key}


class GrantStrategy(AccessStrategy):
    def escalate(self, target_id, event):
        base, headers = _api(event)
        target = event.payload.fields["target"]
        response = requests.post(
            f"{base}/grants",
            json={"user": event.get_actor("request").email, "role": target.settings["role"]},
            headers=headers,
            timeout=5,
        )
        response.raise_for_status()
        return {"grant": response.json()["id"], "target": target_id}

    def deescalate(self, target_id, event):
        base, headers = _api(event)
        granted = get_step_output(ApprovalTemplateStep.ESCALATE)
        response = requests.delete(f"{base}/grants/{granted['grant']}", headers=headers, timeout=5)
        response.raise_for_status()
        return {"revoked": granted["grant"]}
