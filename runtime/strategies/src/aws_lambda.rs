//! The AWS Lambda strategy, as Sym's: the target's function (`arn`) is invoked at escalation
//! and deescalation with Sym's event, and answers `{"body", "errors"}`. The function must
//! treat an event id (`id`, `<run>.<step>`) it has seen as done: a step retried after an
//! outage invokes it again.

use assent_integrations::{CallRecord, Connection};
use assent_outbound::Outbound;
use assent_types::StrategyType;
use serde_json::{Value, json};

use crate::sym_event::{payload, read_answer};
use crate::{Change, Grant, StrategyError, setting};

pub(crate) async fn run(
    outbound: &Outbound,
    connection: &Connection,
    change: Change,
    grant: Grant<'_>,
    records: &mut Vec<CallRecord>,
) -> Result<Value, StrategyError> {
    let arn = setting(grant, "arn", StrategyType::AwsLambda)?;
    let args = json!({
        "arn": arn,
        "payload": payload(change, grant, "aws_lambda_function"),
    });
    let answer = assent_integrations::call(outbound, connection, "invoke", &args, records).await?;
    read_answer(|| format!("Lambda function `{arn}`"), answer)
}
