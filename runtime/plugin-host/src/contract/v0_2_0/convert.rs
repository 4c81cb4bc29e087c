//! Conversions between `assent:flow@0.2.0`'s types and the host's own (`assent-types`).

use assent_types as host;

use super::assent::flow::log::Level;
use super::{WitHandler, wit};
use crate::services::{EventCountQuery, ServiceError};
use crate::state::LogLevel;

pub(crate) fn pairs(map: &std::collections::BTreeMap<String, String>) -> Vec<(String, String)> {
    map.iter()
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect()
}

impl From<host::Role> for wit::Role {
    fn from(role: host::Role) -> Self {
        match role {
            host::Role::Admin => wit::Role::Admin,
            host::Role::Member => wit::Role::Member,
            host::Role::Guest => wit::Role::Guest,
        }
    }
}

impl From<&host::User> for wit::User {
    fn from(user: &host::User) -> Self {
        wit::User {
            id: user.id.clone(),
            email: user.email.clone(),
            username: user.username.clone(),
            first_name: user.first_name.clone(),
            last_name: user.last_name.clone(),
            role: user.role.into(),
            identities: user
                .identities
                .iter()
                .map(|identity| wit::Identity {
                    service: identity.service.clone(),
                    external_id: identity.external_id.clone(),
                    service_id: identity.service_id.clone(),
                })
                .collect(),
        }
    }
}

impl From<&host::Target> for wit::Target {
    fn from(target: &host::Target) -> Self {
        wit::Target {
            id: target.id.clone(),
            name: target.name.clone(),
            label: target.label.clone(),
            settings: pairs(&target.settings),
        }
    }
}

impl From<host::FieldType> for wit::FieldType {
    fn from(field_type: host::FieldType) -> Self {
        match field_type {
            host::FieldType::String => wit::FieldType::String,
            host::FieldType::StrList => wit::FieldType::StrList,
            host::FieldType::Int => wit::FieldType::Int,
            host::FieldType::IntList => wit::FieldType::IntList,
            host::FieldType::Bool => wit::FieldType::Bool,
            host::FieldType::Duration => wit::FieldType::Duration,
            host::FieldType::SlackUser => wit::FieldType::SlackUser,
            host::FieldType::SlackUserList => wit::FieldType::SlackUserList,
            host::FieldType::Target => wit::FieldType::Target,
        }
    }
}

impl From<&host::FieldValue> for wit::FieldValue {
    fn from(value: &host::FieldValue) -> Self {
        match value {
            host::FieldValue::String(text) => wit::FieldValue::String(text.clone()),
            host::FieldValue::StrList(items) => wit::FieldValue::StrList(items.clone()),
            host::FieldValue::Int(number) => wit::FieldValue::Int(*number),
            host::FieldValue::IntList(numbers) => wit::FieldValue::IntList(numbers.clone()),
            host::FieldValue::Bool(flag) => wit::FieldValue::Bool(*flag),
            host::FieldValue::Duration(seconds) => wit::FieldValue::Duration(*seconds),
            host::FieldValue::SlackUser(user) => wit::FieldValue::SlackUser(user.into()),
            host::FieldValue::SlackUserList(users) => {
                wit::FieldValue::SlackUserList(users.iter().map(Into::into).collect())
            }
            host::FieldValue::Target(target) => wit::FieldValue::Target(target.into()),
        }
    }
}

impl From<&host::PromptField> for wit::PromptField {
    fn from(field: &host::PromptField) -> Self {
        wit::PromptField {
            name: field.name.clone(),
            label: field.label.clone(),
            field_type: field.field_type.into(),
            required: field.required,
            allowed_values: field.allowed_values.clone(),
            visible: field.visible,
            prefetch: field.prefetch,
        }
    }
}

impl From<&host::Flow> for wit::Flow {
    fn from(flow: &host::Flow) -> Self {
        wit::Flow {
            name: flow.name.clone(),
            label: flow.label.clone(),
            vars: pairs(&flow.vars),
            fields: flow.fields.iter().map(Into::into).collect(),
            environment: wit::Environment {
                name: flow.environment.name.clone(),
                integrations: flow
                    .environment
                    .integrations
                    .iter()
                    .map(|integration| wit::Integration {
                        name: integration.name.clone(),
                        integration_type: integration.integration_type.clone(),
                        external_id: integration.external_id.clone(),
                        settings: pairs(&integration.settings),
                    })
                    .collect(),
            },
        }
    }
}

impl From<&host::FieldOption> for wit::FieldOption {
    fn from(option: &host::FieldOption) -> Self {
        wit::FieldOption {
            value: option.value.clone(),
            label: option.label.clone(),
        }
    }
}

impl From<wit::FieldOption> for host::FieldOption {
    fn from(option: wit::FieldOption) -> Self {
        host::FieldOption {
            value: option.value,
            label: option.label,
        }
    }
}

impl From<&host::FormField> for wit::FormField {
    fn from(field: &host::FormField) -> Self {
        wit::FormField {
            name: field.name.clone(),
            label: field.label.clone(),
            field_type: field.field_type.into(),
            required: field.required,
            visible: field.visible,
            value: field.value.as_ref().map(Into::into),
            allowed_values: field.allowed_values.iter().map(Into::into).collect(),
            original_allowed_values: field
                .original_allowed_values
                .iter()
                .map(Into::into)
                .collect(),
        }
    }
}

impl From<wit::FormField> for host::FormField {
    fn from(field: wit::FormField) -> Self {
        host::FormField {
            name: field.name,
            label: field.label,
            field_type: field.field_type.into(),
            required: field.required,
            visible: field.visible,
            value: field.value.map(Into::into),
            allowed_values: field.allowed_values.into_iter().map(Into::into).collect(),
            original_allowed_values: field
                .original_allowed_values
                .into_iter()
                .map(Into::into)
                .collect(),
        }
    }
}

impl From<wit::FieldType> for host::FieldType {
    fn from(field_type: wit::FieldType) -> Self {
        match field_type {
            wit::FieldType::String => host::FieldType::String,
            wit::FieldType::StrList => host::FieldType::StrList,
            wit::FieldType::Int => host::FieldType::Int,
            wit::FieldType::IntList => host::FieldType::IntList,
            wit::FieldType::Bool => host::FieldType::Bool,
            wit::FieldType::Duration => host::FieldType::Duration,
            wit::FieldType::SlackUser => host::FieldType::SlackUser,
            wit::FieldType::SlackUserList => host::FieldType::SlackUserList,
            wit::FieldType::Target => host::FieldType::Target,
        }
    }
}

impl From<wit::FieldValue> for host::FieldValue {
    fn from(value: wit::FieldValue) -> Self {
        match value {
            wit::FieldValue::String(text) => host::FieldValue::String(text),
            wit::FieldValue::StrList(items) => host::FieldValue::StrList(items),
            wit::FieldValue::Int(number) => host::FieldValue::Int(number),
            wit::FieldValue::IntList(numbers) => host::FieldValue::IntList(numbers),
            wit::FieldValue::Bool(flag) => host::FieldValue::Bool(flag),
            wit::FieldValue::Duration(seconds) => host::FieldValue::Duration(seconds),
            wit::FieldValue::SlackUser(user) => host::FieldValue::SlackUser(user.into()),
            wit::FieldValue::SlackUserList(users) => {
                host::FieldValue::SlackUserList(users.into_iter().map(Into::into).collect())
            }
            wit::FieldValue::Target(target) => host::FieldValue::Target(target.into()),
        }
    }
}

impl From<wit::Role> for host::Role {
    fn from(role: wit::Role) -> Self {
        match role {
            wit::Role::Admin => host::Role::Admin,
            wit::Role::Member => host::Role::Member,
            wit::Role::Guest => host::Role::Guest,
        }
    }
}

impl From<wit::Identity> for host::Identity {
    fn from(identity: wit::Identity) -> Self {
        host::Identity {
            service: identity.service,
            external_id: identity.external_id,
            service_id: identity.service_id,
        }
    }
}

impl From<wit::User> for host::User {
    fn from(user: wit::User) -> Self {
        host::User {
            id: user.id,
            email: user.email,
            username: user.username,
            first_name: user.first_name,
            last_name: user.last_name,
            role: user.role.into(),
            identities: user.identities.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<wit::Target> for host::Target {
    fn from(target: wit::Target) -> Self {
        host::Target {
            id: target.id,
            name: target.name,
            label: target.label,
            settings: target.settings.into_iter().collect(),
            field_bindings: Vec::new(),
        }
    }
}

impl From<host::Step> for wit::Step {
    fn from(step: host::Step) -> Self {
        match step {
            host::Step::Prompt => wit::Step::Prompt,
            host::Step::Request => wit::Step::Request,
            host::Step::Approve => wit::Step::Approve,
            host::Step::Deny => wit::Step::Deny,
            host::Step::Escalate => wit::Step::Escalate,
            host::Step::Deescalate => wit::Step::Deescalate,
            host::Step::RequestForward => wit::Step::RequestForward,
            host::Step::RequestExpire => wit::Step::RequestExpire,
        }
    }
}

impl From<&host::Event> for wit::Event {
    fn from(event: &host::Event) -> Self {
        wit::Event {
            name: event.name.into(),
            user: (&event.user).into(),
            payload: wit::Payload {
                fields: event
                    .payload
                    .fields
                    .iter()
                    .map(|(name, value)| (name.clone(), value.into()))
                    .collect(),
                timestamp: event.payload.timestamp.clone(),
                message: event.payload.message.clone(),
            },
            flow: (&event.flow).into(),
            run: wit::Run {
                id: event.run.id.clone(),
                actors: event
                    .run
                    .actors
                    .iter()
                    .map(|(step, user)| ((*step).into(), user.into()))
                    .collect(),
                contexts: event
                    .run
                    .contexts
                    .iter()
                    .map(|(step, context)| ((*step).into(), context.to_string()))
                    .collect(),
                source_channel: wit::Channel {
                    identifier: event.run.source_channel.identifier.clone(),
                    channel_type: match event.run.source_channel.channel_type {
                        host::ChannelType::Slack => wit::ChannelType::Slack,
                        host::ChannelType::Api => wit::ChannelType::Api,
                    },
                },
            },
            outputs: serde_json::Value::Object(event.outputs.clone()).to_string(),
        }
    }
}

impl From<wit::PermissionLevel> for host::PermissionLevel {
    fn from(level: wit::PermissionLevel) -> Self {
        match level {
            wit::PermissionLevel::Admin => host::PermissionLevel::Admin,
            wit::PermissionLevel::Member => host::PermissionLevel::Member,
            wit::PermissionLevel::AllUsers => host::PermissionLevel::AllUsers,
        }
    }
}

impl From<wit::Permission> for host::Permission {
    fn from(permission: wit::Permission) -> Self {
        match permission {
            wit::Permission::Level(level) => host::Permission::Level(level.into()),
            wit::Permission::Users(users) => host::Permission::Users(users),
        }
    }
}

impl From<wit::RequestPermission> for host::RequestPermission {
    fn from(permission: wit::RequestPermission) -> Self {
        host::RequestPermission {
            webapp_view: permission.webapp_view.into(),
            approve_deny: permission.approve_deny.into(),
            allow_self_approval: permission.allow_self_approval,
        }
    }
}

impl From<wit::Destination> for host::Destination {
    fn from(destination: wit::Destination) -> Self {
        match destination {
            wit::Destination::SlackChannel(channel) => host::Destination::SlackChannel(channel),
            wit::Destination::SlackUser(user) => host::Destination::SlackUser(user),
            wit::Destination::SlackGroup(users) => host::Destination::SlackGroup(users),
            wit::Destination::UserEmail(email) => host::Destination::UserEmail(email),
            wit::Destination::UserId(id) => host::Destination::UserId(id),
        }
    }
}

impl From<wit::Notification> for host::Notification {
    fn from(notification: wit::Notification) -> Self {
        host::Notification {
            destinations: notification
                .destinations
                .into_iter()
                .map(Into::into)
                .collect(),
            timeout: notification.timeout,
        }
    }
}

impl From<wit::Approvers> for host::Approvers {
    fn from(approvers: wit::Approvers) -> Self {
        host::Approvers {
            destinations: approvers.destinations.into_iter().map(Into::into).collect(),
            fallback: approvers.fallback,
            allow_self: approvers.allow_self,
        }
    }
}

impl From<wit::HookOutcome> for host::HookOutcome {
    fn from(outcome: wit::HookOutcome) -> Self {
        match outcome {
            wit::HookOutcome::Proceed => host::HookOutcome::Proceed,
            wit::HookOutcome::Approve(reason) => host::HookOutcome::Approve(reason),
            wit::HookOutcome::Deny(reason) => host::HookOutcome::Deny(reason),
            wit::HookOutcome::Ignore(message) => host::HookOutcome::Ignore(message),
            wit::HookOutcome::Request(reason) => host::HookOutcome::Request(reason),
            wit::HookOutcome::Escalate(reason) => host::HookOutcome::Escalate(reason),
            wit::HookOutcome::Deescalate(reason) => host::HookOutcome::Deescalate(reason),
        }
    }
}

impl From<wit::PluginError> for host::PluginError {
    fn from(error: wit::PluginError) -> Self {
        host::PluginError {
            kind: error.kind,
            message: error.message,
        }
    }
}

impl From<WitHandler> for host::Handler {
    fn from(handler: WitHandler) -> Self {
        use host::Step;
        match handler {
            WitHandler::GetPermissions => host::Handler::GetPermissions,
            WitHandler::GetRequestNotifications => host::Handler::GetRequestNotifications,
            WitHandler::GetApprovers => host::Handler::GetApprovers,
            WitHandler::GetIdentity => host::Handler::GetIdentity,
            WitHandler::GetTimeout => host::Handler::GetTimeout,
            WitHandler::OnPrompt => host::Handler::On(Step::Prompt),
            WitHandler::OnRequest => host::Handler::On(Step::Request),
            WitHandler::OnApprove => host::Handler::On(Step::Approve),
            WitHandler::OnDeny => host::Handler::On(Step::Deny),
            WitHandler::OnEscalate => host::Handler::On(Step::Escalate),
            WitHandler::OnDeescalate => host::Handler::On(Step::Deescalate),
            WitHandler::OnRequestForward => host::Handler::On(Step::RequestForward),
            WitHandler::OnRequestExpire => host::Handler::On(Step::RequestExpire),
            WitHandler::AfterPrompt => host::Handler::After(Step::Prompt),
            WitHandler::AfterRequest => host::Handler::After(Step::Request),
            WitHandler::AfterApprove => host::Handler::After(Step::Approve),
            WitHandler::AfterDeny => host::Handler::After(Step::Deny),
            WitHandler::AfterEscalate => host::Handler::After(Step::Escalate),
            WitHandler::AfterDeescalate => host::Handler::After(Step::Deescalate),
            WitHandler::AfterRequestForward => host::Handler::After(Step::RequestForward),
            WitHandler::AfterRequestExpire => host::Handler::After(Step::RequestExpire),
            WitHandler::FetchRemoteIdentity => host::Handler::FetchRemoteIdentity,
            WitHandler::Escalate => host::Handler::Escalate,
            WitHandler::Deescalate => host::Handler::Deescalate,
            WitHandler::GetFlows => host::Handler::GetFlows,
            WitHandler::Prefetch => host::Handler::Prefetch,
            WitHandler::OnChange => host::Handler::OnChange,
        }
    }
}

impl From<Level> for LogLevel {
    fn from(level: Level) -> Self {
        match level {
            Level::Trace => LogLevel::Trace,
            Level::Debug => LogLevel::Debug,
            Level::Info => LogLevel::Info,
            Level::Warn => LogLevel::Warn,
            Level::Error => LogLevel::Error,
        }
    }
}

impl From<super::users::EventCountQuery> for EventCountQuery {
    fn from(query: super::users::EventCountQuery) -> Self {
        EventCountQuery {
            user_id: query.user_id,
            event: query.event.into(),
            since: query.since,
            until: query.until,
            flow: query.flow,
            target: query.target,
            include_errored: query.include_errored,
        }
    }
}

impl From<wit::Step> for host::Step {
    fn from(step: wit::Step) -> Self {
        match step {
            wit::Step::Prompt => host::Step::Prompt,
            wit::Step::Request => host::Step::Request,
            wit::Step::Approve => host::Step::Approve,
            wit::Step::Deny => host::Step::Deny,
            wit::Step::Escalate => host::Step::Escalate,
            wit::Step::Deescalate => host::Step::Deescalate,
            wit::Step::RequestForward => host::Step::RequestForward,
            wit::Step::RequestExpire => host::Step::RequestExpire,
        }
    }
}

impl From<ServiceError> for wit::HostError {
    fn from(error: ServiceError) -> Self {
        let kind = match &error {
            ServiceError::InvalidInput(_) => wit::HostErrorKind::InvalidInput,
            ServiceError::Unavailable(_) => wit::HostErrorKind::Unavailable,
        };
        wit::HostError {
            kind,
            message: error.to_string(),
        }
    }
}
