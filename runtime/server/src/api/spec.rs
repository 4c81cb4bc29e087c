//! What every operation of the OpenAPI description says besides its own annotation, so no
//! handler can forget it: its path parameters, and the errors a request may meet on the way
//! to any handler (token, throttle, body, database) or in any step a person takes.

use utoipa::openapi::path::{HttpMethod, Operation, Parameter, ParameterIn};
use utoipa::openapi::schema::{Object, Type};
use utoipa::openapi::{OpenApi, Required, Response};

/// Completes every operation of the description.
pub(super) struct Completeness;

/// Any operation.
const ANY: &[(&str, &str)] = &[
    (
        "400",
        "the request does not fit: a path, query or body value of the wrong form, or a body that arrived too slowly",
    ),
    ("401", "no token, or not a valid one for this endpoint"),
    (
        "429",
        "too many invalid tokens from this address or with this token prefix, or too many of the organisation's requests in progress; wait `Retry-After` seconds",
    ),
    ("500", "the server could not read or write its database"),
];

/// Operations that take a body.
const WITH_BODY: &[(&str, &str)] = &[
    ("413", "the body is larger than this endpoint accepts"),
    (
        "415",
        "the body's content type is not the one this endpoint takes",
    ),
];

/// POSTs, which take an `Idempotency-Key`.
const IDEMPOTENT: &[(&str, &str)] = &[
    (
        "409",
        "a request with this `Idempotency-Key` is still in progress, or the state does not allow it",
    ),
    (
        "422",
        "this `Idempotency-Key` was used before with another body, or the inputs do not fit",
    ),
];

/// Operations of an organisation's admins.
const ADMIN: &[(&str, &str)] = &[("403", "only an admin of the organisation may do this")];

/// Steps on runs, which run the flow's plugins.
const STEP: &[(&str, &str)] = &[
    ("403", "this person may not take this step on this run"),
    ("404", "no such run, flow or user in this organisation"),
    (
        "502",
        "a plugin of the flow failed; the run records the error",
    ),
    (
        "503",
        "the run kept changing while the step was taken; try again",
    ),
];

impl utoipa::Modify for Completeness {
    fn modify(&self, openapi: &mut OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            let names = path_parameters(path);
            for (method, operation) in [
                (HttpMethod::Get, item.get.as_mut()),
                (HttpMethod::Put, item.put.as_mut()),
                (HttpMethod::Post, item.post.as_mut()),
                (HttpMethod::Delete, item.delete.as_mut()),
                (HttpMethod::Patch, item.patch.as_mut()),
            ] {
                let Some(operation) = operation else { continue };
                declare_path_parameters(operation, &names);
                complete_responses(operation, &method);
            }
        }
    }
}

/// The `{name}` segments of `path`.
fn path_parameters(path: &str) -> Vec<String> {
    path.split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
        .map(str::to_owned)
        .collect()
}

fn declare_path_parameters(operation: &mut Operation, names: &[String]) {
    let parameters = operation.parameters.get_or_insert_with(Vec::new);
    for name in names {
        let declared = parameters.iter().any(|parameter| {
            &parameter.name == name && parameter.parameter_in == ParameterIn::Path
        });
        if !declared {
            let mut parameter = Parameter::new(name);
            parameter.parameter_in = ParameterIn::Path;
            parameter.required = Required::True;
            parameter.schema = Some(Object::with_type(Type::String).into());
            parameters.push(parameter);
        }
    }
}

fn complete_responses(operation: &mut Operation, method: &HttpMethod) {
    let tagged = |tag: &str| {
        operation
            .tags
            .as_ref()
            .is_some_and(|tags| tags.iter().any(|t| t == tag))
    };
    let mut extra: Vec<(&str, &str)> = ANY.to_vec();
    if operation.request_body.is_some() || matches!(method, HttpMethod::Post | HttpMethod::Put) {
        extra.extend_from_slice(WITH_BODY);
    }
    if matches!(method, HttpMethod::Post) {
        extra.extend_from_slice(IDEMPOTENT);
    }
    if tagged("admin") {
        extra.extend_from_slice(ADMIN);
    }
    if matches!(method, HttpMethod::Post) && (tagged("runs") || tagged("events")) {
        extra.extend_from_slice(STEP);
    }
    for (status, description) in extra {
        operation
            .responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| Response::new(description).into());
    }
}
