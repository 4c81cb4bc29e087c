//! What handlers may read. The runner hands out the store only through [`Reads`], which has
//! no method that writes: every change of state goes through one of the runner's own
//! methods, so no handler can skip a rule the runner keeps.

use assent_store::{
    AuditEvent, AuditPage, FlowRecord, FlowsFilter, Job, Organization, PluginRecord, Principal,
    RunRecord, SlackWorkspace, Store, StoreError,
};
use assent_types::User;

/// The store, read-only. Cheap to copy.
#[derive(Debug, Clone, Copy)]
pub struct Reads<'a>(pub(crate) &'a Store);

/// Each read forwards to the store's method of the same name.
macro_rules! reads {
    ($( $(#[$doc:meta])* fn $name:ident($($arg:ident: $ty:ty),*) -> $out:ty; )*) => {
        impl Reads<'_> {
            $(
                $(#[$doc])*
                pub async fn $name(&self, $($arg: $ty),*) -> Result<$out, StoreError> {
                    self.0.$name($($arg),*).await
                }
            )*
        }
    };
}

reads! {
    /// Who a bearer token speaks for.
    fn authenticate(token: &str) -> Option<Principal>;
    fn organization_by_slug(slug: &str) -> Option<Organization>;
    fn flows(org_id: &str) -> Vec<FlowRecord>;
    /// The flow's latest version.
    fn flow(org_id: &str, name: &str) -> Option<FlowRecord>;
    /// One stored version of a flow, by its id (a run's `flow_id`).
    fn flow_version(org_id: &str, id: &str) -> Option<FlowRecord>;
    /// The organisation's flows filter, if it has one.
    fn flows_filter(org_id: &str) -> Option<FlowsFilter>;
    fn plugins(org_id: &str) -> Vec<PluginRecord>;
    fn plugin(org_id: &str, hash: &str) -> Option<PluginRecord>;
    fn users(org_id: &str) -> Vec<User>;
    fn user(org_id: &str, id: &str) -> Option<User>;
    fn user_by_email(org_id: &str, email: &str) -> Option<User>;
    fn run(org_id: &str, id: &str) -> Option<RunRecord>;
    /// Newest first, older than run `before`.
    fn runs(org_id: &str, before: Option<&str>, limit: u32) -> Vec<RunRecord>;
    /// The run's pending timers and notices.
    fn jobs_for_run(org_id: &str, run_id: &str) -> Vec<Job>;
    fn event(org_id: &str, id: &str) -> Option<AuditEvent>;
    /// Oldest first, after event `after`; only `run_id`'s if given.
    fn audit(org_id: &str, run_id: Option<&str>, after: Option<&str>, limit: u32) -> AuditPage;
    /// The workspace an inbound Slack payload names, whichever organisation it belongs to.
    fn slack_workspace(team_id: &str) -> Option<SlackWorkspace>;
    /// The Assent user a Slack user was matched to.
    fn slack_user(org_id: &str, team_id: &str, slack_user_id: &str) -> Option<User>;
    /// The Slack channel an environment's plugin errors go to.
    fn error_logger(org_id: &str, environment: &str) -> Option<String>;
}
