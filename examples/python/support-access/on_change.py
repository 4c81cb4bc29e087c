# The `on_change` file of the `role` field (see impl.py): runs whenever the role changes.


def on_change_role(username, prompt_form):
    role = prompt_form.fields.get("role")
    customer = prompt_form.fields.get("customer")
    customer.visible = role.value == "support"
    customer.required = customer.visible
    return prompt_form
