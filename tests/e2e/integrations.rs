//! Secrets and integrations through the HTTP API, on SQLite and (with `DATABASE_URL`)
//! PostgreSQL: secrets are write-only and never appear in anything the server answers or
//! records; integrations are checked against their type and the environment's secrets.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use assent_server::{Keyring, Server};
use assent_tests::test_databases;
use reqwest::StatusCode;
use serde_json::json;
use support::{server_config, start, tenant};

const TOKEN: &str = "okta-token-7f3a9c1e5b";

#[tokio::test]
async fn secrets_are_write_only_and_integrations_reference_them_by_name() {
    for database in test_databases().await {
        let server = start(&database).await;
        let acme = tenant(&server, "acme").await;
        let kind = database.kind;

        let (status, refused) = acme
            .member
            .put(
                "/environments/main/secrets/okta-token",
                json!({ "value": TOKEN }),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
        let (status, set) = acme
            .admin
            .put(
                "/environments/main/secrets/okta-token",
                json!({ "value": TOKEN }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{kind}: {set}");
        assert_eq!(set["version"], 1);
        assert_eq!(set["set_by"], "admin@acme.test");
        let (_, again) = acme
            .admin
            .put(
                "/environments/main/secrets/okta-token",
                json!({ "value": TOKEN }),
            )
            .await;
        assert_eq!(again["version"], 2, "{again}");
        let (status, empty) = acme
            .admin
            .put("/environments/main/secrets/blank", json!({ "value": "" }))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{empty}");

        // An integration naming a secret the environment does not have is refused.
        let okta = |secret: &str| {
            json!({
                "type": "okta",
                "external_id": "acme.okta.com",
                "settings": { "api_token_secret": secret, "api_url": "https://acme.okta.com" },
            })
        };
        let (status, missing) = acme
            .admin
            .put("/environments/main/integrations/okta", okta("nope"))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{missing}");
        assert_eq!(missing["error"]["code"], "invalid_integration");
        assert!(
            missing["error"]["message"]
                .as_str()
                .unwrap()
                .contains("names secret `nope`, which environment `main` does not have"),
            "{missing}"
        );
        let (status, typo) = acme
            .admin
            .put(
                "/environments/main/integrations/okta",
                json!({ "type": "okta", "external_id": "acme.okta.com", "settings": { "api_token": TOKEN } }),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{typo}");
        let (status, unknown) = acme
            .admin
            .put(
                "/environments/main/integrations/x",
                json!({ "type": "ldap" }),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{unknown}");

        let (status, created) = acme
            .admin
            .put("/environments/main/integrations/okta", okta("okta-token"))
            .await;
        assert_eq!(status, StatusCode::OK, "{kind}: {created}");
        assert_eq!(created["type"], "okta");
        assert_eq!(created["settings"]["api_token_secret"], "okta-token");
        assert_eq!(created["version"], 1);
        let (status, read) = acme.admin.get("/environments/main/integrations/okta").await;
        assert_eq!(status, StatusCode::OK, "{read}");
        assert_eq!(read["external_id"], "acme.okta.com");
        let (_, listed) = acme.admin.get("/environments/main/integrations").await;
        assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");

        // A secret in use is not deleted; the error names who uses it.
        let (status, in_use) = acme
            .admin
            .delete("/environments/main/secrets/okta-token")
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{in_use}");
        assert_eq!(in_use["error"]["code"], "secret_in_use");
        assert!(
            in_use["error"]["message"]
                .as_str()
                .unwrap()
                .contains("integration `okta`"),
            "{in_use}"
        );

        // Another organisation sees none of it.
        let globex = tenant(&server, "globex").await;
        let (status, _) = globex
            .admin
            .get("/environments/main/integrations/okta")
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (_, theirs) = globex.admin.get("/environments/main/secrets").await;
        assert_eq!(theirs, json!([]), "{kind}");

        let (status, _) = acme
            .admin
            .delete("/environments/main/integrations/okta")
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, _) = acme
            .admin
            .delete("/environments/main/secrets/okta-token")
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, gone) = acme
            .admin
            .delete("/environments/main/secrets/okta-token")
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{gone}");
        let (status, no_env) = acme.admin.get("/environments/staging/secrets").await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{no_env}");

        // The audit log says who set and deleted what, never the value.
        let (_, audit) = acme.admin.get("/audit?limit=100").await;
        let kinds: Vec<&str> = audit["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|event| event["kind"].as_str().unwrap())
            .collect();
        for expected in [
            "secret.set",
            "secret.deleted",
            "integration.updated",
            "integration.deleted",
        ] {
            assert!(
                kinds.contains(&expected),
                "{kind}: {expected} not in {kinds:?}"
            );
        }
        let recorded = format!("{set}{again}{created}{read}{listed}{in_use}{audit}");
        assert!(!recorded.contains(TOKEN), "a secret's value was shown");
    }
}

/// A server started with a new key and the old one as previous seals every secret again
/// under the new key; a server with only the new key then has nothing left it cannot open.
#[tokio::test]
async fn rotating_the_key_seals_every_secret_again() {
    const NEW: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    let database = assent_tests::sqlite_database();
    let old = start(&database).await;
    let acme = tenant(&old, "acme").await;
    let (status, _) = acme
        .admin
        .put(
            "/environments/main/secrets/okta-token",
            json!({ "value": TOKEN }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    old.abort();

    let key_ids = || async {
        let pool = sqlx::AnyPool::connect(&database.url).await.unwrap();
        let ids: Vec<String> = sqlx::query_scalar("SELECT key_id FROM secrets")
            .fetch_all(&pool)
            .await
            .unwrap();
        pool.close().await;
        ids
    };
    let before = key_ids().await;
    let rotating = Server::start(assent_server::ServerConfig {
        secrets: Keyring::from_hex(NEW, Some(assent_tests::slack::SECRETS_KEY)).unwrap(),
        ..server_config(&database)
    })
    .await
    .unwrap();
    rotating.abort();
    let after = key_ids().await;
    let new = Keyring::from_hex(NEW, None).unwrap();
    assert_ne!(before, after);
    assert_eq!(after, vec![new.key_id().as_str().to_owned()]);
}
