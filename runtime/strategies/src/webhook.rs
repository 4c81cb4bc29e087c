//! The webhook strategy: the run is POSTed to the target's `url` through an `http`
//! integration (its allowed hosts, its auth header), signed with the integration's
//! `signing_secret` so the receiver knows it came from Assent.
//!
//! The receiver answers 2xx, optionally with Sym's Lambda answer, `{"body": …, "errors":
//! […]}`: `body` becomes the step's output and any error stops the run with its words. It
//! must treat a delivery it has seen (`x-assent-delivery`) as done: a step retried after an
//! outage sends it again.

use std::time::{SystemTime, UNIX_EPOCH};

use assent_integrations::{CallRecord, Connection, Failure, FetchRequest};
use assent_outbound::Outbound;
use assent_types::StrategyType;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::sym_event::{list, read_answer};
use crate::{Change, Grant, StrategyError, setting};

// What of a refusing receiver's body an error quotes: enough for its message, not a page.
const QUOTED_BYTES: usize = 300;

pub(crate) async fn run(
    outbound: &Outbound,
    connection: &Connection,
    change: Change,
    grant: Grant<'_>,
    records: &mut Vec<CallRecord>,
) -> Result<Value, StrategyError> {
    let url = setting(grant, "url", StrategyType::Http)?;
    let body = payload(change, grant).to_string();
    let timestamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    let mut headers = vec![
        ("content-type".to_owned(), "application/json".to_owned()),
        ("x-assent-event".to_owned(), change.as_str().to_owned()),
        (
            "x-assent-delivery".to_owned(),
            format!("{}.{}", grant.event.run.id, change.as_str()),
        ),
        ("x-assent-timestamp".to_owned(), timestamp.to_string()),
    ];
    if let Some(secret) = connection.secrets.get("signing_secret") {
        headers.push((
            "x-assent-signature".to_owned(),
            signature(secret.expose().as_bytes(), timestamp, &body),
        ));
    }
    let response = assent_integrations::fetch(
        outbound,
        std::slice::from_ref(connection),
        FetchRequest {
            method: "POST".into(),
            url: url.to_owned(),
            headers,
            body: Some(body.into_bytes()),
            timeout: None,
            integration: Some(connection.name.clone()),
        },
        records,
    )
    .await?;
    let answer: Value = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
    if !(200..300).contains(&response.status) {
        let quoted = String::from_utf8_lossy(&response.body);
        let message = match answer["errors"].as_array() {
            Some(errors) => list(errors),
            None => quoted.chars().take(QUOTED_BYTES).collect::<String>(),
        };
        return Err(Failure::Provider {
            provider: "the webhook",
            status: response.status,
            method: "POST",
            path: url.to_owned(),
            message: if message.trim().is_empty() {
                format!("HTTP {}", response.status)
            } else {
                message
            },
        }
        .into());
    }
    read_answer(|| format!("the webhook at `{url}`"), answer)
}

/// What the receiver is sent: which way access moves, for whom, to what, in which run.
fn payload(change: Change, grant: Grant<'_>) -> Value {
    let event = grant.event;
    json!({
        "type": change.as_str(),
        "run": { "id": event.run.id },
        "flow": { "name": event.flow.name, "environment": event.flow.environment.name },
        "user": {
            "id": event.user.id,
            "email": event.user.email,
            "username": event.user.username,
        },
        "target": {
            "name": grant.target.name,
            "label": grant.target.label,
            "settings": grant.target.settings,
        },
        "fields": event.payload.fields,
    })
}

/// `v1=` and the hex HMAC-SHA256, under `secret`, of `{timestamp}.{body}`: the timestamp is
/// signed too, so a receiver refusing old timestamps refuses replays.
pub(crate) fn signature(secret: &[u8], timestamp: u64, body: &str) -> String {
    // HMAC takes a key of any length; `new_from_slice` fails for none.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return String::new();
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_hmac_of_timestamp_and_body() {
        // printf '1700000000.{}' | openssl dgst -sha256 -hmac key
        assert_eq!(
            signature(b"key", 1_700_000_000, "{}"),
            "v1=9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae"
        );
    }
}
