# Assent's own Sym Terraform configuration (Sym's resource schema), for
# `assent import-terraform examples/terraform`: an environment with its error logger, flows
# with prompt fields, a custom strategy with targets, a flow on a built-in strategy, a flows
# filter, and the integrations and secrets Assent does not carry over yet.

terraform {
  required_providers {
    sym = {
      source  = "symopsio/sym"
      version = "~> 3.0"
    }
  }
}

provider "sym" {
  org = "acme"
}

locals {
  environment_name = "main"
  error_channel    = "#${local.environment_name}-access-errors"
}

variable "oncall" {
  description = "Who is offered the prod- flows"
  type        = string
  default     = "bob@acme.test"
}

resource "sym_integration" "slack" {
  type        = "slack"
  name        = "${local.environment_name}-slack"
  external_id = "T0ACME"
}

resource "sym_error_logger" "slack" {
  integration_id = sym_integration.slack.id
  destination    = local.error_channel
}

resource "sym_environment" "this" {
  name            = local.environment_name
  error_logger_id = sym_error_logger.slack.id

  integrations = {
    slack_id = sym_integration.slack.id
  }
}

resource "sym_secrets" "this" {
  type = "aws_secrets_manager"
  name = "${local.environment_name}-secrets"
}

resource "sym_secret" "okta_api_key" {
  source_id = sym_secrets.this.id
  path      = "sym/${local.environment_name}/okta-api-key"
}

resource "sym_integration" "okta" {
  type        = "okta"
  name        = "${local.environment_name}-okta"
  external_id = "acme.okta.com"

  settings = {
    api_token_secret = sym_secret.okta_api_key.id
  }
}
