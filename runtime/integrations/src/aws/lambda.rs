//! Lambda's `Invoke` (`POST /2015-03-31/functions/{name}/invocations`): Sym's
//! `aws_lambda.invoke` waits for the function's answer, `invoke_async` only queues the event.

use assent_outbound::Method;
use serde_json::{Value, json};

use crate::aws::{Aws, LAMBDA};
use crate::failure::Failure;
use crate::provider::{encode, json_of, string_arg};

// What of a failed function's own error a message quotes.
const QUOTED_CHARS: usize = 500;

pub(crate) async fn call(
    aws: &mut Aws<'_, '_>,
    operation: &str,
    args: &Value,
) -> Result<Value, Failure> {
    let function = aws.provider.required(operation, args, "arn")?.to_owned();
    let payload = match args.get("payload") {
        None | Some(Value::Null) => json!({}),
        Some(payload) => payload.clone(),
    };
    let wait = operation == "invoke";
    let mut path = format!("/2015-03-31/functions/{}/invocations", encode(&function));
    if let Some(qualifier) = string_arg(args, "qualifier") {
        path.push_str(&format!("?Qualifier={}", encode(qualifier)));
    }
    aws.at(LAMBDA);
    let invocation = if wait { "RequestResponse" } else { "Event" };
    let response = aws
        .provider
        .exchange(
            Method::Post,
            &path,
            &[("x-amz-invocation-type", invocation.to_owned())],
            Some(("application/json", payload.to_string().into_bytes())),
        )
        .await?;
    if !wait {
        return Ok(json!(true));
    }
    // The function ran and raised: Lambda answers 200 and says so in a header, with the
    // function's `{"errorMessage", "errorType"}` as the payload.
    if response.header("x-amz-function-error").is_some() {
        let failed = json_of(&response);
        let message = match failed["errorMessage"].as_str() {
            Some(message) => match failed["errorType"].as_str() {
                Some(kind) => format!("{kind}: {message}"),
                None => message.to_owned(),
            },
            None => String::from_utf8_lossy(&response.body).into_owned(),
        };
        return Err(Failure::OperationFailed {
            provider: LAMBDA.label,
            what: format!("function `{function}`"),
            message: message.chars().take(QUOTED_CHARS).collect(),
        });
    }
    if response.body.is_empty() {
        return Ok(Value::Null);
    }
    Ok(serde_json::from_slice(&response.body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&response.body).into_owned())))
}
