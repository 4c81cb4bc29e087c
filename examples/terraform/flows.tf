resource "sym_flow" "team_access" {
  name           = "team-access"
  label          = "Team access"
  implementation = file("${path.module}/../python/team-access/impl.py")
  environment_id = sym_environment.this.id

  vars = {
    teams = "dev:Development,prod:Production"
  }

  params {
    include_decision_message = true

    prompt_field {
      name     = "team"
      type     = "string"
      required = true
      prefetch = true
    }

    prompt_field {
      name    = "ticket"
      type    = "string"
      visible = false
    }

    prompt_field {
      name           = "duration"
      type           = "duration"
      allowed_values = ["30m", "1h", "1d"]
    }
  }
}

resource "sym_target" "globex" {
  type  = "custom"
  name  = "globex-support"
  label = "Globex support group"

  settings = {
    group = "globex-support"
  }
}

resource "sym_target" "initech" {
  type           = "custom"
  name           = "initech-support"
  label          = "Initech support group"
  field_bindings = ["customer"]

  settings = {
    group = "initech-support"
  }
}

resource "sym_strategy" "groups" {
  type           = "custom"
  name           = "support-groups"
  implementation = file("${path.module}/../python/custom-strategy/impl.py")
  targets        = [sym_target.globex.id, sym_target.initech.id]
}

resource "sym_flow" "support_access" {
  name           = "support-access"
  label          = "Support access"
  implementation = file("${path.module}/../python/support-access/impl.py")
  environment_id = sym_environment.this.id

  vars = {
    customers      = "Globex,Initech"
    default_target = sym_target.globex.id
  }

  params {
    strategy_id  = sym_strategy.groups.id
    allow_revoke = false

    prompt_field {
      name           = "role"
      type           = "string"
      required       = true
      allowed_values = ["viewer", "support"]
      on_change      = file("${path.module}/../python/support-access/on_change.py")
    }

    prompt_field {
      name     = "customer"
      type     = "string"
      prefetch = true
      visible  = false
    }
  }
}

resource "sym_target" "okta_admins" {
  type  = "okta_group"
  name  = "prod-admins"
  label = "Prod admins"

  settings = {
    group_id = "00g123456789"
  }
}

resource "sym_strategy" "okta" {
  type           = "okta"
  name           = "okta-groups"
  integration_id = sym_integration.okta.id
  targets        = [sym_target.okta_admins.id]
}

resource "sym_flow" "prod_admins" {
  name           = "prod-admins"
  label          = "Prod admins"
  implementation = file("${path.module}/../python/approval-only/impl.py")
  environment_id = sym_environment.this.id

  vars = {
    request_channel = "#access-requests"
    approvers       = "admin@acme.test"
  }

  params {
    strategy_id = sym_strategy.okta.id

    prompt_field {
      name     = "reason"
      type     = "string"
      required = true
    }
  }
}

resource "sym_flows_filter" "this" {
  implementation = file("${path.module}/../python/flows-filter/impl.py")

  vars = {
    oncall = var.oncall
  }
}
