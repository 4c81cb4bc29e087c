//! The Web API calls Assent makes, each with the workspace's bot token.
//!
//! The base URL is configuration: `https://slack.com/api` in production, a local fake in
//! tests. Nothing else differs between the two.

use std::sync::Arc;

use slack_morphism::errors::SlackClientError;
use slack_morphism::hyper_tokio::{SlackClientHyperConnector, SlackClientHyperHttpsConnector};
use slack_morphism::prelude::*;

type Connector = SlackClientHyperHttpsConnector;

/// Slack's own API.
pub const SLACK_API_URL: &str = "https://slack.com/api";

/// A failed Web API call.
#[derive(Debug, thiserror::Error)]
pub enum SlackApiError {
    /// Slack answered `ok: false` (`channel_not_found`, `not_in_channel`, …).
    #[error("slack refused `{method}`: {code}")]
    Refused { method: &'static str, code: String },
    #[error("slack could not be reached for `{method}`: {message}")]
    Unreachable {
        method: &'static str,
        message: String,
    },
    /// Slack answered, but not in a form this client can read. Not retried: Slack may well
    /// have done what it was asked, and asking again would do it twice.
    #[error("slack's answer to `{method}` could not be read: {message}")]
    Unreadable {
        method: &'static str,
        message: String,
    },
    #[error("cannot set up TLS for the Slack client: {0}")]
    Tls(String),
}

impl SlackApiError {
    fn from_client(method: &'static str, error: SlackClientError) -> SlackApiError {
        match error {
            SlackClientError::ApiError(api) => SlackApiError::Refused {
                method,
                code: api.code,
            },
            SlackClientError::ProtocolError(unreadable) => SlackApiError::Unreadable {
                method,
                message: unreadable.to_string(),
            },
            other => SlackApiError::Unreachable {
                method,
                message: other.to_string(),
            },
        }
    }
}

/// A workspace's bot, as `oauth.v2.access` returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installation {
    pub team_id: String,
    pub team_name: String,
    pub bot_user_id: String,
    pub bot_token: String,
}

/// What `users.info` says about a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlackProfile {
    pub id: String,
    pub email: Option<String>,
    pub username: String,
    pub real_name: Option<String>,
    pub is_bot: bool,
    /// A single- or multi-channel guest of the workspace (`is_restricted`,
    /// `is_ultra_restricted`).
    pub is_guest: bool,
}

/// The Web API client. Cheap to clone; one per process (it pools connections).
#[derive(Clone)]
pub struct SlackApi {
    client: Arc<SlackClient<Connector>>,
}

impl std::fmt::Debug for SlackApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackApi").finish_non_exhaustive()
    }
}

impl SlackApi {
    /// A client for the Web API at `api_url` (no trailing slash), over HTTPS or, for a
    /// local fake, plain HTTP.
    pub fn new(api_url: &str) -> Result<SlackApi, SlackApiError> {
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|error| SlackApiError::Tls(error.to_string()))?
            .https_or_http()
            .enable_http1()
            .build();
        let connector = SlackClientHyperConnector::with_connector(https)
            .with_slack_api_url(api_url.trim_end_matches('/'));
        Ok(SlackApi {
            client: Arc::new(SlackClient::new(connector)),
        })
    }

    fn token(bot_token: &str) -> SlackApiToken {
        SlackApiToken::new(SlackApiTokenValue::new(bot_token.to_owned()))
    }

    /// Posts a message; returns the channel id and the message's `ts`, to update it later.
    pub async fn post_message(
        &self,
        bot_token: &str,
        channel: &str,
        content: SlackMessageContent,
    ) -> Result<(String, String), SlackApiError> {
        let token = Self::token(bot_token);
        let session = self.client.open_session(&token);
        let request = SlackApiChatPostMessageRequest::new(channel.into(), content);
        let response = session
            .chat_post_message(&request)
            .await
            .map_err(|error| SlackApiError::from_client("chat.postMessage", error))?;
        Ok((response.channel.to_string(), response.ts.to_string()))
    }

    pub async fn update_message(
        &self,
        bot_token: &str,
        channel: &str,
        ts: &str,
        content: SlackMessageContent,
    ) -> Result<(), SlackApiError> {
        let token = Self::token(bot_token);
        let session = self.client.open_session(&token);
        let request =
            SlackApiChatUpdateRequest::new(channel.into(), content, SlackTs::new(ts.to_owned()));
        session
            .chat_update(&request)
            .await
            .map_err(|error| SlackApiError::from_client("chat.update", error))?;
        Ok(())
    }

    /// A message only `user` sees, in `channel`.
    pub async fn post_ephemeral(
        &self,
        bot_token: &str,
        channel: &str,
        user: &str,
        content: SlackMessageContent,
    ) -> Result<(), SlackApiError> {
        let token = Self::token(bot_token);
        let session = self.client.open_session(&token);
        let request = SlackApiChatPostEphemeralRequest::new(channel.into(), user.into(), content);
        session
            .chat_post_ephemeral(&request)
            .await
            .map_err(|error| SlackApiError::from_client("chat.postEphemeral", error))?;
        Ok(())
    }

    /// Opens (or finds) the DM or group DM with `users`; returns its channel id.
    pub async fn open_conversation(
        &self,
        bot_token: &str,
        users: &[String],
    ) -> Result<String, SlackApiError> {
        let token = Self::token(bot_token);
        let session = self.client.open_session(&token);
        let request = SlackApiConversationsOpenRequest::new()
            .with_users(users.iter().map(|user| user.as_str().into()).collect());
        let response = session
            .conversations_open(&request)
            .await
            .map_err(|error| SlackApiError::from_client("conversations.open", error))?;
        Ok(response.channel.id.to_string())
    }

    pub async fn open_view(
        &self,
        bot_token: &str,
        trigger_id: &str,
        view: SlackView,
    ) -> Result<String, SlackApiError> {
        let token = Self::token(bot_token);
        let session = self.client.open_session(&token);
        let request = SlackApiViewsOpenRequest::new(trigger_id.into(), view);
        let response = session
            .views_open(&request)
            .await
            .map_err(|error| SlackApiError::from_client("views.open", error))?;
        Ok(response.view.state_params.id.to_string())
    }

    /// Replaces an open view (the request form after a flow is picked).
    pub async fn update_view(
        &self,
        bot_token: &str,
        view_id: &str,
        hash: Option<&str>,
        view: SlackView,
    ) -> Result<(), SlackApiError> {
        let token = Self::token(bot_token);
        let session = self.client.open_session(&token);
        let mut request = SlackApiViewsUpdateRequest::new(view).with_view_id(view_id.into());
        if let Some(hash) = hash {
            request = request.with_hash(hash.to_owned());
        }
        session
            .views_update(&request)
            .await
            .map_err(|error| SlackApiError::from_client("views.update", error))?;
        Ok(())
    }

    pub async fn user_profile(
        &self,
        bot_token: &str,
        user: &str,
    ) -> Result<SlackProfile, SlackApiError> {
        let token = Self::token(bot_token);
        let session = self.client.open_session(&token);
        let response = session
            .users_info(&SlackApiUsersInfoRequest::new(user.into()))
            .await
            .map_err(|error| SlackApiError::from_client("users.info", error))?;
        Ok(profile(response.user))
    }

    /// The Slack user with this email, if the workspace has one (`users.lookupByEmail`).
    pub async fn user_by_email(
        &self,
        bot_token: &str,
        email: &str,
    ) -> Result<Option<SlackProfile>, SlackApiError> {
        let token = Self::token(bot_token);
        let session = self.client.open_session(&token);
        let request = SlackApiUsersLookupByEmailRequest::new(EmailAddress(email.to_owned()));
        match session.users_lookup_by_email(&request).await {
            Ok(response) => Ok(Some(profile(response.user))),
            Err(SlackClientError::ApiError(api)) if api.code == "users_not_found" => Ok(None),
            Err(error) => Err(SlackApiError::from_client("users.lookupByEmail", error)),
        }
    }

    /// Exchanges an OAuth code for the workspace's bot token.
    pub async fn oauth_access(
        &self,
        client_id: &str,
        client_secret: &str,
        code: &str,
        redirect_uri: Option<&str>,
    ) -> Result<Installation, SlackApiError> {
        let mut request = SlackOAuthV2AccessTokenRequest::new(
            client_id.into(),
            client_secret.into(),
            code.into(),
        );
        if let Some(uri) = redirect_uri.and_then(|uri| uri.parse().ok()) {
            request = request.with_redirect_uri(uri);
        }
        let response = self
            .client
            .oauth2_access(&request)
            .await
            .map_err(|error| SlackApiError::from_client("oauth.v2.access", error))?;
        Ok(Installation {
            team_id: response.team.id.to_string(),
            team_name: response.team.name.unwrap_or_default(),
            bot_user_id: response
                .bot_user_id
                .map(|id| id.to_string())
                .unwrap_or_default(),
            bot_token: response.access_token.to_string(),
        })
    }
}

fn profile(user: SlackUser) -> SlackProfile {
    let (email, real_name) = match user.profile {
        Some(profile) => (
            profile.email.map(|email| email.to_string()),
            profile.real_name,
        ),
        None => (None, None),
    };
    SlackProfile {
        id: user.id.to_string(),
        email,
        username: user.name.unwrap_or_else(|| user.id.to_string()),
        real_name: real_name.or(user.real_name),
        is_bot: user.flags.is_bot.unwrap_or(false),
        is_guest: user.flags.is_restricted.unwrap_or(false)
            || user.flags.is_ultra_restricted.unwrap_or(false),
    }
}
