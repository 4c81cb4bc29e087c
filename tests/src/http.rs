//! A small client of the HTTP API for tests: JSON in, status and JSON out.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

/// A client speaking for one token.
#[derive(Debug, Clone)]
pub struct Api {
    pub base: String,
    pub token: String,
    client: reqwest::Client,
}

impl Api {
    /// A client of the API at `base` (`http://HOST:PORT/api/v1`).
    pub fn new(base: &str, token: &str) -> Api {
        Api {
            base: base.to_owned(),
            token: token.to_owned(),
            client: reqwest::Client::new(),
        }
    }

    /// The same token against another server.
    pub fn at(&self, base: &str) -> Api {
        Api {
            base: base.to_owned(),
            ..self.clone()
        }
    }

    pub fn with_token(&self, token: &str) -> Api {
        Api {
            token: token.to_owned(),
            ..self.clone()
        }
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let response = request.bearer_auth(&self.token).send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, body)
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(self.client.get(format!("{}{path}", self.base)))
            .await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(self.client.post(format!("{}{path}", self.base)).json(&body))
            .await
    }

    pub async fn post_with_key(
        &self,
        path: &str,
        key: &str,
        body: Value,
    ) -> (StatusCode, Value, bool) {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
            .await
            .unwrap();
        let replayed = response.headers().contains_key("idempotent-replayed");
        let status = response.status();
        (status, response.json().await.unwrap(), replayed)
    }

    pub async fn put(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(self.client.put(format!("{}{path}", self.base)).json(&body))
            .await
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.send(self.client.delete(format!("{}{path}", self.base)))
            .await
    }

    pub async fn upload(&self, bytes: Vec<u8>) -> (StatusCode, Value) {
        self.send(
            self.client
                .post(format!("{}/plugins", self.base))
                .header("content-type", "application/wasm")
                .body(bytes),
        )
        .await
    }

    /// Waits (up to 15 s) for the run to reach `status`; returns the run.
    pub async fn wait_for(&self, run_id: &str, status: &str) -> Value {
        for _ in 0..150 {
            let (code, run) = self.get(&format!("/runs/{run_id}")).await;
            assert_eq!(code, StatusCode::OK, "{run}");
            if run["status"] == status {
                return run;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let (_, run) = self.get(&format!("/runs/{run_id}")).await;
        panic!("run {run_id} never became {status}: {run:#}");
    }

    /// The run's audit entries, in order.
    pub async fn audit_of(&self, run_id: &str) -> Vec<Value> {
        let (code, mut page) = self
            .get(&format!("/audit?run_id={run_id}&limit=1000"))
            .await;
        assert_eq!(code, StatusCode::OK, "{page}");
        match page["events"].take() {
            Value::Array(events) => events,
            other => panic!("the audit page has no events: {other}"),
        }
    }

    /// The run's audit entries of `kind`, in order.
    pub async fn audit_entries(&self, run_id: &str, kind: &str) -> Vec<Value> {
        let mut entries = self.audit_of(run_id).await;
        entries.retain(|event| event["kind"] == kind);
        entries
    }

    /// Kinds of the run's audit entries, in order.
    pub async fn audit_kinds(&self, run_id: &str) -> Vec<String> {
        self.audit_of(run_id)
            .await
            .iter()
            .map(|event| event["kind"].as_str().unwrap().to_owned())
            .collect()
    }
}
