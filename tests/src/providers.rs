//! Fake Okta, PagerDuty, GitHub and a generic HTTPS API on 127.0.0.1, speaking the paths, JSON shapes,
//! auth headers and error bodies of the providers' public API references, for the server's
//! integrations to call. Every request is recorded (method, path, query, headers, body); the
//! state (groups, members, who is on call) is set by the test and changes as the server calls
//! it; a provider can be told to fail or stall.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, put};
use serde_json::{Value, json};

/// One request a fake received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub provider: &'static str,
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

#[derive(Debug, Default)]
struct Providers {
    /// Where the fakes listen, for the paging links they give.
    addr: Option<SocketAddr>,
    okta_token: String,
    /// Okta users by id: (login/email, first name).
    okta_users: BTreeMap<String, String>,
    /// Okta groups by id: (name, member ids).
    okta_groups: BTreeMap<String, (String, BTreeSet<String>)>,
    pagerduty_token: String,
    /// PagerDuty users by id: email.
    pagerduty_users: BTreeMap<String, String>,
    /// Schedules by id: (name, member ids, on call now).
    schedules: BTreeMap<String, (String, Vec<String>, Vec<String>)>,
    github_token: String,
    /// GitHub logins that exist.
    github_users: BTreeSet<String>,
    /// Repositories (`owner/repo`): each collaborator's permission.
    github_repos: BTreeMap<String, BTreeMap<String, String>>,
    /// What the generic API answers: status and JSON body.
    web_answer: (u16, Value),
    /// Answers the next requests with this status (and the provider's error body).
    failing: Option<(u16, usize)>,
    /// Waits this long before answering requests to this provider.
    stall: Option<(&'static str, Duration)>,
    calls: Vec<Recorded>,
}

type Shared = Arc<Mutex<Providers>>;

/// The running fakes.
#[derive(Debug, Clone)]
pub struct FakeProviders {
    pub addr: SocketAddr,
    state: Shared,
}

impl FakeProviders {
    pub async fn start() -> FakeProviders {
        let state = Shared::default();
        state.lock().unwrap().web_answer = (200, json!({ "ok": true }));
        let app = Router::new()
            .route("/okta/api/v1/users/{user}", get(okta_user))
            .route("/okta/api/v1/users/{user}/groups", get(okta_user_groups))
            .route("/okta/api/v1/groups", get(okta_groups))
            .route("/okta/api/v1/groups/{group}", get(okta_group))
            .route("/okta/api/v1/groups/{group}/users", get(okta_members))
            .route(
                "/okta/api/v1/groups/{group}/users/{user}",
                put(okta_add).delete(okta_remove),
            )
            .route("/pagerduty/users", get(pagerduty_users))
            .route("/pagerduty/oncalls", get(pagerduty_oncalls))
            .route("/pagerduty/schedules", get(pagerduty_schedules))
            .route(
                "/pagerduty/schedules/{id}/users",
                get(pagerduty_schedule_users),
            )
            .route("/pagerduty/escalation_policies", get(pagerduty_policies))
            .route(
                "/github/repos/{owner}/{repo}/collaborators/{user}",
                get(github_collaborator)
                    .put(github_collaborator)
                    .delete(github_collaborator),
            )
            .route("/web/{*rest}", any(web))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        state.lock().unwrap().addr = Some(addr);
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        FakeProviders { addr, state }
    }

    /// The `api_url` of an `okta` integration pointed at the fake.
    pub fn okta_url(&self) -> String {
        format!("http://{}/okta", self.addr)
    }

    pub fn pagerduty_url(&self) -> String {
        format!("http://{}/pagerduty", self.addr)
    }

    /// The `api_url` of a `github` integration pointed at the fake.
    pub fn github_url(&self) -> String {
        format!("http://{}/github", self.addr)
    }

    /// The token GitHub accepts (`Authorization: Bearer <token>`).
    pub fn set_github_token(&self, token: &str) {
        self.state.lock().unwrap().github_token = token.into();
    }

    /// A GitHub login, and a repository (`owner/repo`) with no collaborators.
    pub fn add_github_repo(&self, repo: &str, logins: &[&str]) {
        let mut fake = self.state.lock().unwrap();
        fake.github_users
            .extend(logins.iter().map(|login| (*login).to_owned()));
        fake.github_repos.insert(repo.into(), BTreeMap::new());
    }

    /// The collaborators of `repo` (`owner/repo`) with their permissions, as the fake keeps
    /// them now.
    pub fn github_collaborators(&self, repo: &str) -> Vec<(String, String)> {
        self.state
            .lock()
            .unwrap()
            .github_repos
            .get(repo)
            .map(|people| people.clone().into_iter().collect())
            .unwrap_or_default()
    }

    /// The base of the generic API, for an `http` integration.
    pub fn web_url(&self) -> String {
        format!("http://{}/web", self.addr)
    }

    /// The token Okta accepts (`Authorization: SSWS <token>`).
    pub fn set_okta_token(&self, token: &str) {
        self.state.lock().unwrap().okta_token = token.into();
    }

    pub fn add_okta_user(&self, id: &str, email: &str) {
        self.state
            .lock()
            .unwrap()
            .okta_users
            .insert(id.into(), email.into());
    }

    pub fn add_okta_group(&self, id: &str, name: &str, members: &[&str]) {
        self.state.lock().unwrap().okta_groups.insert(
            id.into(),
            (
                name.into(),
                members.iter().map(|m| (*m).to_owned()).collect(),
            ),
        );
    }

    /// The Okta user ids in group `id`, as the fake keeps them now.
    pub fn okta_members(&self, id: &str) -> Vec<String> {
        self.state
            .lock()
            .unwrap()
            .okta_groups
            .get(id)
            .map(|(_, members)| members.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// The token PagerDuty accepts (`Authorization: Token token=<token>`).
    pub fn set_pagerduty_token(&self, token: &str) {
        self.state.lock().unwrap().pagerduty_token = token.into();
    }

    pub fn add_pagerduty_user(&self, id: &str, email: &str) {
        self.state
            .lock()
            .unwrap()
            .pagerduty_users
            .insert(id.into(), email.into());
    }

    /// A schedule with its members and who of them is on call now.
    pub fn add_schedule(&self, id: &str, name: &str, members: &[&str], on_call: &[&str]) {
        let list = |ids: &[&str]| ids.iter().map(|m| (*m).to_owned()).collect();
        self.state
            .lock()
            .unwrap()
            .schedules
            .insert(id.into(), (name.into(), list(members), list(on_call)));
    }

    /// What the generic API answers every request with.
    pub fn set_web_answer(&self, status: u16, body: Value) {
        self.state.lock().unwrap().web_answer = (status, body);
    }

    /// Answers the next `count` requests with `status` and the provider's error body.
    pub fn fail_next(&self, status: u16, count: usize) {
        self.state.lock().unwrap().failing = Some((status, count));
    }

    /// Ends a failure set with `fail_next`: the providers answer again.
    pub fn recover(&self) {
        self.state.lock().unwrap().failing = None;
    }

    /// Waits `stall` before answering each request to `provider` (`okta`, `pagerduty`,
    /// `web`); none to stop.
    pub fn stall(&self, provider: &'static str, stall: Option<Duration>) {
        self.state.lock().unwrap().stall = stall.map(|stall| (provider, stall));
    }

    /// How many requests with `method` were received so far.
    pub fn requests(&self, method: &str) -> usize {
        let fake = self.state.lock().unwrap();
        fake.calls
            .iter()
            .filter(|call| call.method == method)
            .count()
    }

    /// Every request received so far.
    pub fn calls(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().calls.clone()
    }
}

/// Records the request; answers the failure set with `fail_next`, if any, after any stall.
async fn arrive(
    state: &Shared,
    provider: &'static str,
    method: &Method,
    path: String,
    query: Option<String>,
    headers: &HeaderMap,
    body: &[u8],
) -> Option<Response> {
    let stall = {
        let mut fake = state.lock().unwrap();
        fake.calls.push(Recorded {
            provider,
            method: method.to_string(),
            path,
            query: query.unwrap_or_default(),
            headers: headers
                .iter()
                .filter_map(|(k, v)| Some((k.to_string(), v.to_str().ok()?.to_owned())))
                .collect(),
            body: body.to_vec(),
        });
        fake.stall
    };
    if let Some((stalled, stall)) = stall
        && stalled == provider
    {
        tokio::time::sleep(stall).await;
    }
    let mut fake = state.lock().unwrap();
    let (status, left) = fake.failing?;
    fake.failing = (left > 1).then_some((status, left - 1));
    let body = match provider {
        "okta" => okta_error("E0000009", "Internal Server Error"),
        "pagerduty" => json!({ "error": { "message": "Internal Server Error", "code": 2000 } }),
        _ => json!({ "error": "unavailable" }),
    };
    Some((StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response())
}

fn okta_error(code: &str, summary: &str) -> Value {
    json!({
        "errorCode": code,
        "errorSummary": summary,
        "errorLink": code,
        "errorId": "oae-fake",
        "errorCauses": [],
    })
}

/// Okta's answer to a missing or wrong `SSWS` token (E0000011).
fn okta_auth(fake: &Providers, headers: &HeaderMap) -> Option<Response> {
    let expected = format!("SSWS {}", fake.okta_token);
    let given = headers.get("authorization").and_then(|v| v.to_str().ok());
    (given != Some(expected.as_str())).then(|| {
        (
            StatusCode::UNAUTHORIZED,
            axum::Json(okta_error("E0000011", "Invalid token provided")),
        )
            .into_response()
    })
}

fn okta_user_json(id: &str, email: &str) -> Value {
    json!({
        "id": id,
        "status": "ACTIVE",
        "profile": { "login": email, "email": email, "firstName": email.split('@').next(), "lastName": "Fake", "department": "engineering" },
    })
}

fn okta_group_json(id: &str, name: &str) -> Value {
    json!({ "id": id, "type": "OKTA_GROUP", "profile": { "name": name, "description": null } })
}

fn not_found(what: &str, id: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        axum::Json(okta_error(
            "E0000007",
            &format!("Not found: Resource not found: {id} ({what})"),
        )),
    )
        .into_response()
}

/// The Okta user with this id or login.
fn find_okta_user(fake: &Providers, key: &str) -> Option<(String, String)> {
    fake.okta_users
        .iter()
        .find(|(id, email)| *id == key || email.eq_ignore_ascii_case(key))
        .map(|(id, email)| (id.clone(), email.clone()))
}

macro_rules! okta_handler {
    ($name:ident, ($($arg:ident: $ty:ty),*), |$fake:ident, $query:ident| $body:block) => {
        async fn $name(
            State(state): State<Shared>,
            method: Method,
            uri: axum::http::Uri,
            $(Path($arg): Path<$ty>,)*
            RawQuery($query): RawQuery,
            headers: HeaderMap,
        ) -> Response {
            let path = uri.path().to_owned();
            if let Some(answer) = arrive(&state, "okta", &method, path, $query.clone(), &headers, &[]).await {
                return answer;
            }
            #[allow(unused_mut)]
            let mut $fake = state.lock().unwrap();
            if let Some(refused) = okta_auth(&$fake, &headers) {
                return refused;
            }
            $body
        }
    };
}

okta_handler!(okta_user, (user: String), |fake, _query| {
    match find_okta_user(&fake, &user) {
        Some((id, email)) => axum::Json(okta_user_json(&id, &email)).into_response(),
        None => not_found("User", &user),
    }
});

okta_handler!(okta_user_groups, (user: String), |fake, _query| {
    let Some((id, _)) = find_okta_user(&fake, &user) else {
        return not_found("User", &user);
    };
    let groups: Vec<Value> = fake
        .okta_groups
        .iter()
        .filter(|(_, (_, members))| members.contains(&id))
        .map(|(gid, (name, _))| okta_group_json(gid, name))
        .collect();
    axum::Json(groups).into_response()
});

okta_handler!(okta_groups, (), |fake, query| {
    let q = query
        .as_deref()
        .and_then(|q| serde_urlencoded::from_str::<Vec<(String, String)>>(q).ok())
        .and_then(|pairs| pairs.into_iter().find(|(k, _)| k == "q").map(|(_, v)| v))
        .unwrap_or_default();
    let groups: Vec<Value> = fake
        .okta_groups
        .iter()
        .filter(|(_, (name, _))| name.to_lowercase().starts_with(&q.to_lowercase()))
        .map(|(gid, (name, _))| okta_group_json(gid, name))
        .collect();
    axum::Json(groups).into_response()
});

okta_handler!(okta_group, (group: String), |fake, _query| {
    match fake.okta_groups.get(&group) {
        Some((name, _)) => axum::Json(okta_group_json(&group, name)).into_response(),
        None => not_found("UserGroup", &group),
    }
});

// One member per page, so paging through `Link: rel="next"` is exercised.
okta_handler!(okta_members, (group: String), |fake, query| {
    let Some((_, members)) = fake.okta_groups.get(&group) else {
        return not_found("UserGroup", &group);
    };
    let after = query
        .as_deref()
        .and_then(|q| serde_urlencoded::from_str::<Vec<(String, String)>>(q).ok())
        .and_then(|pairs| pairs.into_iter().find(|(k, _)| k == "after").map(|(_, v)| v));
    let mut ids = members.iter().filter(|id| after.as_ref().is_none_or(|a| *id > a));
    let page: Vec<String> = ids.next().cloned().into_iter().collect();
    let more = ids.next().is_some();
    let users: Vec<Value> = page
        .iter()
        .filter_map(|id| fake.okta_users.get(id).map(|email| okta_user_json(id, email)))
        .collect();
    let mut response = axum::Json(users).into_response();
    if let (true, Some(last)) = (more, page.last()) {
        let host = fake.addr.map(|addr| addr.to_string()).unwrap_or_default();
        let link = format!(
            "<http://{host}/okta/api/v1/groups/{group}/users?limit=200>; rel=\"self\", <http://{host}/okta/api/v1/groups/{group}/users?after={last}&limit=200>; rel=\"next\""
        );
        response.headers_mut().insert("link", HeaderValue::from_str(&link).unwrap());
    }
    response
});

okta_handler!(okta_add, (ids: (String, String)), |fake, _query| {
    let (group, user) = ids;
    if !fake.okta_users.contains_key(&user) {
        return not_found("User", &user);
    }
    match fake.okta_groups.get_mut(&group) {
        Some((_, members)) => {
            members.insert(user);
            StatusCode::NO_CONTENT.into_response()
        }
        None => not_found("UserGroup", &group),
    }
});

okta_handler!(okta_remove, (ids: (String, String)), |fake, _query| {
    let (group, user) = ids;
    match fake.okta_groups.get_mut(&group) {
        Some((_, members)) => {
            members.remove(&user);
            StatusCode::NO_CONTENT.into_response()
        }
        None => not_found("UserGroup", &group),
    }
});

/// PagerDuty's answer to a missing or wrong `Token token=` header.
fn pagerduty_auth(fake: &Providers, headers: &HeaderMap) -> Option<Response> {
    let expected = format!("Token token={}", fake.pagerduty_token);
    let given = headers.get("authorization").and_then(|v| v.to_str().ok());
    (given != Some(expected.as_str())).then(|| {
        (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({ "error": { "message": "Unauthorized", "code": 2006 } })),
        )
            .into_response()
    })
}

fn pairs(query: &Option<String>) -> Vec<(String, String)> {
    query
        .as_deref()
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default()
}

fn values<'a>(pairs: &'a [(String, String)], key: &str) -> Vec<&'a str> {
    pairs
        .iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .collect()
}

macro_rules! pagerduty_handler {
    ($name:ident, ($($arg:ident: $ty:ty),*), |$fake:ident, $query:ident| $body:block) => {
        async fn $name(
            State(state): State<Shared>,
            method: Method,
            uri: axum::http::Uri,
            $(Path($arg): Path<$ty>,)*
            RawQuery(raw): RawQuery,
            headers: HeaderMap,
        ) -> Response {
            let path = uri.path().to_owned();
            if let Some(answer) = arrive(&state, "pagerduty", &method, path, raw.clone(), &headers, &[]).await {
                return answer;
            }
            let $fake = state.lock().unwrap();
            if let Some(refused) = pagerduty_auth(&$fake, &headers) {
                return refused;
            }
            let $query = pairs(&raw);
            $body
        }
    };
}

fn pagerduty_user_json(id: &str, email: &str) -> Value {
    json!({ "id": id, "type": "user", "email": email, "name": email, "summary": email })
}

pagerduty_handler!(pagerduty_users, (), |fake, query| {
    let wanted = values(&query, "query")
        .first()
        .copied()
        .unwrap_or_default()
        .to_lowercase();
    let users: Vec<Value> = fake
        .pagerduty_users
        .iter()
        .filter(|(_, email)| email.to_lowercase().contains(&wanted))
        .map(|(id, email)| pagerduty_user_json(id, email))
        .collect();
    axum::Json(json!({ "users": users, "limit": 25, "offset": 0, "more": false })).into_response()
});

pagerduty_handler!(pagerduty_oncalls, (), |fake, query| {
    let users = values(&query, "user_ids[]");
    let schedules = values(&query, "schedule_ids[]");
    let include_users = values(&query, "include[]").contains(&"users");
    let mut oncalls = Vec::new();
    for (schedule_id, (name, _, on_call)) in &fake.schedules {
        if !schedules.is_empty() && !schedules.contains(&schedule_id.as_str()) {
            continue;
        }
        for user_id in on_call {
            if !users.is_empty() && !users.contains(&user_id.as_str()) {
                continue;
            }
            let email = fake
                .pagerduty_users
                .get(user_id)
                .cloned()
                .unwrap_or_default();
            let user = if include_users {
                pagerduty_user_json(user_id, &email)
            } else {
                json!({ "id": user_id, "type": "user_reference", "summary": email })
            };
            oncalls.push(json!({
                "user": user,
                "schedule": { "id": schedule_id, "type": "schedule_reference", "summary": name },
                "escalation_policy": { "id": "PPOLICY", "type": "escalation_policy_reference" },
                "escalation_level": 1,
            }));
        }
    }
    axum::Json(json!({ "oncalls": oncalls, "limit": 25, "offset": 0, "more": false }))
        .into_response()
});

pagerduty_handler!(pagerduty_schedules, (), |fake, query| {
    let wanted = values(&query, "query")
        .first()
        .copied()
        .unwrap_or_default()
        .to_owned();
    let schedules: Vec<Value> = fake
        .schedules
        .iter()
        .filter(|(_, (name, _, _))| name.contains(&wanted))
        .map(|(id, (name, _, _))| json!({ "id": id, "type": "schedule", "name": name }))
        .collect();
    axum::Json(json!({ "schedules": schedules, "more": false })).into_response()
});

pagerduty_handler!(pagerduty_schedule_users, (id: String), |fake, _query| {
    let Some((_, members, _)) = fake.schedules.get(&id) else {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(json!({ "error": { "message": "Not Found", "code": 2100 } })),
        )
            .into_response();
    };
    let users: Vec<Value> = members
        .iter()
        .filter_map(|m| fake.pagerduty_users.get(m).map(|email| pagerduty_user_json(m, email)))
        .collect();
    axum::Json(json!({ "users": users })).into_response()
});

pagerduty_handler!(pagerduty_policies, (), |_fake, _query| {
    axum::Json(json!({ "escalation_policies": [], "more": false })).into_response()
});

/// GitHub's error body: `{"message", "documentation_url"}`.
fn github_error(status: StatusCode, message: &str) -> Response {
    (
        status,
        axum::Json(json!({
            "message": message,
            "documentation_url": "https://docs.github.com/rest/collaborators/collaborators",
        })),
    )
        .into_response()
}

/// `GET`, `PUT` and `DELETE /repos/{owner}/{repo}/collaborators/{user}`, as GitHub's REST API
/// (2022-11-28) answers them to an organisation member's token: 204 when done, 404 for a
/// repository or person it does not know, 422 for a permission it does not have.
async fn github_collaborator(
    State(state): State<Shared>,
    method: Method,
    uri: axum::http::Uri,
    Path((owner, repo, user)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    if let Some(answer) = arrive(&state, "github", &method, path, None, &headers, &body).await {
        return answer;
    }
    let mut fake = state.lock().unwrap();
    let expected = format!("Bearer {}", fake.github_token);
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
        return github_error(StatusCode::UNAUTHORIZED, "Bad credentials");
    }
    let known_user = fake.github_users.contains(&user);
    let Some(collaborators) = fake.github_repos.get_mut(&format!("{owner}/{repo}")) else {
        return github_error(StatusCode::NOT_FOUND, "Not Found");
    };
    match method {
        Method::GET if collaborators.contains_key(&user) => StatusCode::NO_CONTENT.into_response(),
        Method::GET => github_error(StatusCode::NOT_FOUND, "Not Found"),
        Method::PUT if !known_user => github_error(StatusCode::NOT_FOUND, "Not Found"),
        Method::PUT => {
            let asked: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let permission = asked["permission"].as_str().unwrap_or("push").to_owned();
            if !["pull", "triage", "push", "maintain", "admin"].contains(&permission.as_str()) {
                return github_error(StatusCode::UNPROCESSABLE_ENTITY, "Validation Failed");
            }
            collaborators.insert(user, permission);
            StatusCode::NO_CONTENT.into_response()
        }
        Method::DELETE => {
            collaborators.remove(&user);
            StatusCode::NO_CONTENT.into_response()
        }
        _ => github_error(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed"),
    }
}

async fn web(
    State(state): State<Shared>,
    method: Method,
    Path(rest): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(answer) = arrive(
        &state,
        "web",
        &method,
        format!("/web/{rest}"),
        query,
        &headers,
        &body,
    )
    .await
    {
        return answer;
    }
    let (status, answer) = state.lock().unwrap().web_answer.clone();
    (StatusCode::from_u16(status).unwrap(), axum::Json(answer)).into_response()
}
