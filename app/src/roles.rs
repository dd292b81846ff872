//! Which role each server function needs of a logged-in developer. The server checks this
//! before any server function runs (`portal_guard::roles`), so a change is refused to a
//! role that may not make it however the request was made; the pages also leave out the
//! forms a role cannot use. A test holds this table equal to the registered server functions.
use domain::types::Role;

/// The least role that may call the server function `endpoint` (its name under `/_fn/`).
/// None: not a server function of the portal.
pub fn needed(endpoint: &str) -> Option<Role> {
    Some(match endpoint {
        // reading, and what concerns only the person: their account, sessions, organisations
        "account_page" | "app_overview" | "audit_log" | "change_password" | "current_account"
        | "end_other_sessions" | "endpoint_page" | "form_nonce" | "inbox_view" | "list_apps"
        | "list_event_types" | "list_inboxes" | "login" | "logout" | "message_log"
        | "message_timeline" | "notifications_view" | "org_overview" | "recovery_progress"
        | "reset_link_works" | "reset_password" | "signup" | "welcome_progress" | "members_page"
        | "switch_org" | "leave_org" | "invite_details" | "accept_invite" | "join_signup"
        // secrets are read-only information here, as on Svix's read-only portal (and each
        // showing is in the audit log)
        | "reveal_secret" | "destination_secret"
        // trying a payload filter changes nothing
        | "try_filter" => Role::Viewer,
        // changes to applications, endpoints, event types, messages, inboxes, notifications;
        // and portal links, which let their holder act
        "add_destination" | "add_endpoint" | "add_event_type" | "archive_event_type" | "create_app"
        | "create_inbox" | "create_test_inbox" | "delete_app" | "delete_destination"
        | "delete_endpoint" | "delete_inbox" | "recover_failed" | "replay_missing" | "resend"
        | "rotate_secret" | "send_test_event" | "set_destination_enabled"
        | "set_endpoint_enabled" | "set_inbox_reply" | "test_destination" | "update_app"
        | "update_endpoint" | "update_event_type" | "welcome_add_endpoint" | "welcome_create_app"
        | "welcome_send" | "welcome_use_inbox" | "consumer_portal_link"
        | "open_consumer_portal" => Role::Developer,
        // members and API keys
        "create_api_key" | "list_api_keys" | "revoke_api_key" | "invite_member" | "revoke_invite"
        | "set_member_role" | "remove_member" => Role::Admin,
        _ => return None,
    })
}

/// Why a role may not call a server function, in words for the page.
pub fn refusal(role: Role, needed: Role) -> String {
    match needed {
        Role::Admin => format!(
            "Only an admin can do this (members and API keys); you are a {}.",
            role.label().to_lowercase()
        ),
        _ => "You are a viewer in this organisation: you can see everything but change nothing. \
              Ask an admin for the developer role."
            .to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_need_more_than_a_viewer_and_keys_an_admin() {
        assert_eq!(needed("list_apps"), Some(Role::Viewer));
        assert_eq!(needed("delete_endpoint"), Some(Role::Developer));
        assert_eq!(needed("create_api_key"), Some(Role::Admin));
        assert_eq!(needed("no_such_function"), None);
        assert!(refusal(Role::Developer, Role::Admin).contains("admin"));
    }
}
