//! Who may request, approve, deny, revoke and view, from a flow's `get_permissions` answer.
//!
//! - Admins may always view and act; the `approve_deny` and `webapp_view` rules decide for
//!   everyone else (a level, or a list of user ids or emails).
//! - Nobody approves their own request unless the flow allows self-approval — admins neither.
//! - Guests may not request, approve, deny or revoke, unless the flow allows guests (Sym's
//!   `allow_guest_interaction`); only admins may request for someone else.
//! - The requester and anyone who may approve may revoke granted access.

use assent_types::{Permission, PermissionLevel, RequestPermission, Role, User};
use thiserror::Error;

/// Why a user may not do something. Shown to that user.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum Forbidden {
    #[error(
        "guests may not request access with this flow; ask an admin to make `{0}` a member, or to allow guests on the flow (`allow_guest_interaction`)"
    )]
    GuestMayNotRequest(String),
    #[error(
        "guests may not act on this flow's requests; ask an admin to make `{0}` a member, or to allow guests on the flow (`allow_guest_interaction`)"
    )]
    GuestMayNotAct(String),
    #[error("`{0}` may not approve or deny this request")]
    NotAnApprover(String),
    #[error("you may not approve your own request; this flow does not allow self-approval")]
    SelfApproval,
    #[error("`{0}` may not revoke this access")]
    MayNotRevoke(String),
    #[error("only admins may request access for someone else")]
    RequestForOthers,
}

/// A flow's permissions for one request, and who made it.
#[derive(Debug, Clone, Copy)]
pub struct RequestPermissions<'a> {
    pub rules: &'a RequestPermission,
    pub requester: &'a User,
}

fn same_user(a: &User, b: &User) -> bool {
    (!a.id.is_empty() && a.id == b.id)
        || (!a.email.is_empty() && a.email.eq_ignore_ascii_case(&b.email))
}

fn allows(permission: &Permission, user: &User) -> bool {
    match permission {
        Permission::Level(PermissionLevel::AllUsers) => true,
        Permission::Level(PermissionLevel::Member) => user.role != Role::Guest,
        Permission::Level(PermissionLevel::Admin) => user.role == Role::Admin,
        Permission::Users(users) => users.iter().any(|entry| {
            (!user.id.is_empty() && *entry == user.id)
                || (!user.email.is_empty() && entry.eq_ignore_ascii_case(&user.email))
        }),
    }
}

/// Whether `user` may start a request of a flow; guests only where it allows guests.
pub fn may_request(user: &User, allow_guests: bool) -> Result<(), Forbidden> {
    match user.role {
        Role::Guest if !allow_guests => Err(Forbidden::GuestMayNotRequest(user.email.clone())),
        Role::Guest | Role::Admin | Role::Member => Ok(()),
    }
}

/// Whether `user` may approve, deny or revoke on a flow at all (its permissions then say
/// whether on this request); guests only where it allows guests.
pub fn may_interact(user: &User, allow_guests: bool) -> Result<(), Forbidden> {
    match user.role {
        Role::Guest if !allow_guests => Err(Forbidden::GuestMayNotAct(user.email.clone())),
        Role::Guest | Role::Admin | Role::Member => Ok(()),
    }
}

/// Whether `caller` may request access on `requester`'s behalf: anyone for themselves, only
/// admins for someone else. The requester must still be allowed to request ([`may_request`]).
pub fn may_request_for(caller: &User, requester: &User) -> Result<(), Forbidden> {
    if caller.role == Role::Admin || same_user(caller, requester) {
        Ok(())
    } else {
        Err(Forbidden::RequestForOthers)
    }
}

impl RequestPermissions<'_> {
    fn is_requester(&self, user: &User) -> bool {
        same_user(self.requester, user)
    }

    fn is_approver(&self, user: &User) -> bool {
        user.role == Role::Admin || allows(&self.rules.approve_deny, user)
    }

    /// Whether `actor` may approve.
    pub fn may_approve(&self, actor: &User) -> Result<(), Forbidden> {
        if !self.is_approver(actor) {
            return Err(Forbidden::NotAnApprover(actor.email.clone()));
        }
        if self.is_requester(actor) && !self.rules.allow_self_approval {
            return Err(Forbidden::SelfApproval);
        }
        Ok(())
    }

    /// Whether `actor` may deny. Approvers may deny their own request: that only withdraws it.
    pub fn may_deny(&self, actor: &User) -> Result<(), Forbidden> {
        if self.is_approver(actor) {
            Ok(())
        } else {
            Err(Forbidden::NotAnApprover(actor.email.clone()))
        }
    }

    /// Whether `actor` may take granted access away early.
    pub fn may_revoke(&self, actor: &User) -> Result<(), Forbidden> {
        if self.is_requester(actor) || self.is_approver(actor) {
            Ok(())
        } else {
            Err(Forbidden::MayNotRevoke(actor.email.clone()))
        }
    }

    /// Whether `viewer` may see the request.
    pub fn may_view(&self, viewer: &User) -> bool {
        viewer.role == Role::Admin
            || self.is_requester(viewer)
            || allows(&self.rules.webapp_view, viewer)
            || self.is_approver(viewer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: &str, role: Role) -> User {
        User {
            id: id.to_owned(),
            email: format!("{id}@example.com"),
            role,
            ..User::default()
        }
    }

    fn rules(approve_deny: Permission, allow_self_approval: bool) -> RequestPermission {
        RequestPermission {
            webapp_view: Permission::Level(PermissionLevel::Admin),
            approve_deny,
            allow_self_approval,
        }
    }

    const ROLES: [Role; 3] = [Role::Admin, Role::Member, Role::Guest];

    #[test]
    fn guests_may_not_request_or_act_unless_the_flow_allows_guests() {
        for allow_guests in [false, true] {
            assert!(may_request(&user("a", Role::Member), allow_guests).is_ok());
            assert!(may_request(&user("a", Role::Admin), allow_guests).is_ok());
            assert!(may_interact(&user("a", Role::Member), allow_guests).is_ok());
        }
        assert_eq!(
            may_request(&user("g", Role::Guest), false),
            Err(Forbidden::GuestMayNotRequest("g@example.com".into()))
        );
        assert_eq!(
            may_interact(&user("g", Role::Guest), false),
            Err(Forbidden::GuestMayNotAct("g@example.com".into()))
        );
        assert!(may_request(&user("g", Role::Guest), true).is_ok());
        assert!(may_interact(&user("g", Role::Guest), true).is_ok());
    }

    #[test]
    fn only_admins_request_for_someone_else() {
        let ann = user("ann", Role::Member);
        let bob = user("bob", Role::Member);
        assert!(may_request_for(&ann, &ann).is_ok());
        assert_eq!(
            may_request_for(&ann, &bob),
            Err(Forbidden::RequestForOthers)
        );
        assert!(may_request_for(&user("root", Role::Admin), &bob).is_ok());
    }

    /// Every level and role, for someone else's request and for one's own.
    #[test]
    fn approval_by_level_role_and_self() {
        for level in [
            PermissionLevel::Admin,
            PermissionLevel::Member,
            PermissionLevel::AllUsers,
        ] {
            for allow_self in [false, true] {
                let rules = rules(Permission::Level(level), allow_self);
                for role in ROLES {
                    let actor = user("actor", role);
                    let other = user("requester", Role::Member);
                    let for_other = RequestPermissions {
                        rules: &rules,
                        requester: &other,
                    };
                    let by_level = match level {
                        PermissionLevel::Admin => role == Role::Admin,
                        PermissionLevel::Member => role != Role::Guest,
                        PermissionLevel::AllUsers => true,
                    };
                    let approver = by_level || role == Role::Admin;
                    assert_eq!(
                        for_other.may_approve(&actor).is_ok(),
                        approver,
                        "{level:?} {role:?}"
                    );
                    assert_eq!(for_other.may_deny(&actor).is_ok(), approver);
                    assert_eq!(for_other.may_revoke(&actor).is_ok(), approver);

                    let own = RequestPermissions {
                        rules: &rules,
                        requester: &actor,
                    };
                    let expected = if !approver {
                        Err(Forbidden::NotAnApprover("actor@example.com".into()))
                    } else if !allow_self {
                        Err(Forbidden::SelfApproval)
                    } else {
                        Ok(())
                    };
                    assert_eq!(
                        own.may_approve(&actor),
                        expected,
                        "{level:?} {role:?} self={allow_self}"
                    );
                    assert!(
                        own.may_revoke(&actor).is_ok(),
                        "the requester may give access back"
                    );
                    assert!(own.may_view(&actor));
                }
            }
        }
    }

    #[test]
    fn a_list_of_users_matches_ids_and_emails_case_insensitively() {
        let rules = rules(
            Permission::Users(vec!["u1".into(), "Alice@Example.com".into()]),
            false,
        );
        let requester = user("requester", Role::Member);
        let permissions = RequestPermissions {
            rules: &rules,
            requester: &requester,
        };
        assert!(permissions.may_approve(&user("u1", Role::Guest)).is_ok());
        assert!(
            permissions
                .may_approve(&user("alice", Role::Member))
                .is_ok()
        );
        assert!(permissions.may_approve(&user("bob", Role::Member)).is_err());
        assert!(permissions.may_approve(&user("root", Role::Admin)).is_ok());
        assert!(!permissions.may_view(&user("bob", Role::Member)));
        assert!(permissions.may_view(&user("alice", Role::Member)));
    }

    #[test]
    fn the_same_person_is_recognised_by_email_when_ids_differ() {
        let rules = rules(Permission::Level(PermissionLevel::Member), false);
        let requester = User {
            id: String::new(),
            email: "Dana@example.com".into(),
            ..User::default()
        };
        let permissions = RequestPermissions {
            rules: &rules,
            requester: &requester,
        };
        let dana = user("dana", Role::Member);
        assert_eq!(permissions.may_approve(&dana), Err(Forbidden::SelfApproval));
    }
}
