//! Members and roles: invitations by one-time link (new and existing users), several
//! organisations per person with switching, the last admin kept, and every server function's
//! role enforced by the server whatever the page shows.
use crate::helpers::*;
use crate::portal::{logged_in, no_redirects, portal_call, post_form, session_cookie};
use reqwest::StatusCode;
use serde_json::Value;
use std::collections::BTreeSet;

fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

/// An invitation link's token, made by `admin` for `role`.
async fn invite(app: &TestApp, admin: &str, role: &str) -> String {
    let (s, body) = portal_call(app, admin, "invite_member", &[("role", role)]).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let link: String = json(&body).as_str().unwrap().to_string();
    assert!(link.starts_with(&format!("{}/join?token=", app.base)), "{link}");
    link.split_once("token=").unwrap().1.to_string()
}

/// Signs up through an invitation; the new session's cookie.
async fn join(app: &TestApp, token: &str, email: &str) -> String {
    let form = [
        ("token", token),
        ("email", email),
        ("password", "difference engine 1822"),
    ];
    let r = post_form(&no_redirects(), app, "/_fn/join_signup", &form, true).await;
    assert!(
        r.status().is_redirection(),
        "{}: {}",
        r.status(),
        r.text().await.unwrap()
    );
    session_cookie(&r)
}

async fn account(app: &TestApp, cookie: &str) -> Value {
    let (s, body) = portal_call(app, cookie, "current_account", &[]).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    json(&body)
}

#[tokio::test]
async fn an_invitation_brings_in_a_new_and_an_existing_user_who_switch_between_organisations() {
    let app = spawn_app().await;
    let ada = logged_in(&app, "ada@example.com", "Engines").await;
    let token = invite(&app, &ada, "developer").await;
    // what the link offers, to anyone holding it
    let (s, body) = portal_call(&app, "", "invite_details", &[("token", &token)]).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let offer = json(&body);
    assert_eq!(offer["invite"]["orgName"], "Engines");
    assert_eq!(offer["invite"]["role"], "developer");
    assert_eq!(offer["invite"]["invitedBy"], "ada@example.com");

    // a new person joins with it: no organisation of their own
    let grace = join(&app, &token, "grace@example.com").await;
    let a = account(&app, &grace).await;
    assert_eq!(
        (a["org_name"].as_str(), a["role"].as_str()),
        (Some("Engines"), Some("developer"))
    );
    assert_eq!(a["orgs"].as_array().unwrap().len(), 1);
    // the link worked once
    let form = [
        ("token", token.as_str()),
        ("email", "eve@example.com"),
        ("password", "difference engine 1822"),
    ];
    let r = post_form(&no_redirects(), &app, "/_fn/join_signup", &form, true).await;
    assert!(r.status().is_client_error(), "{}", r.status());
    assert!(r.text().await.unwrap().contains("already used"));

    // someone with an account of their own accepts a viewer's invitation
    let bob = logged_in(&app, "bob@example.com", "Babbage").await;
    let token = invite(&app, &ada, "viewer").await;
    let (s, body) = portal_call(&app, &bob, "accept_invite", &[("token", &token)]).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let a = account(&app, &bob).await;
    assert_eq!(
        (a["org_name"].as_str(), a["role"].as_str()),
        (Some("Engines"), Some("viewer"))
    );
    let orgs: Vec<&str> = a["orgs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o[1].as_str().unwrap())
        .collect();
    assert_eq!(orgs, ["Babbage", "Engines"]);
    // and switches back to his own, where he is the admin
    let babbage = a["orgs"][0][0].as_str().unwrap().to_string();
    let (s, body) = portal_call(&app, &bob, "switch_org", &[("org", &babbage)]).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let a = account(&app, &bob).await;
    assert_eq!(
        (a["org_name"].as_str(), a["role"].as_str()),
        (Some("Babbage"), Some("admin"))
    );
    // not into an organisation he does not belong to
    let ada_org = account(&app, &ada).await["org_id"].as_str().unwrap().to_string();
    let grace_only = logged_in(&app, "mallory@example.com", "Mallory").await;
    let (s, _) = portal_call(&app, &grace_only, "switch_org", &[("org", &ada_org)]).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Engines' members, as its admin sees them
    let (_, body) = portal_call(&app, &ada, "members_page", &[]).await;
    let page = json(&body);
    let members: Vec<(&str, &str)> = page["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["email"].as_str().unwrap(), m["role"].as_str().unwrap()))
        .collect();
    assert_eq!(
        members,
        [
            ("ada@example.com", "admin"),
            ("grace@example.com", "developer"),
            ("bob@example.com", "viewer")
        ]
    );
    // the audit log has who invited whom and who joined
    let (_, body) = portal_call(&app, &ada, "audit_log", &[]).await;
    let actions: Vec<(String, String)> = json(&body)["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().into(),
                e["actor"]["name"].as_str().unwrap().into(),
            )
        })
        .collect();
    let has = |a: &str, who: &str| actions.contains(&(a.to_string(), who.to_string()));
    assert!(has("member.invited", "ada@example.com") && has("member.joined", "grace@example.com"));
    assert!(has("member.joined", "bob@example.com"), "{actions:?}");
}

#[tokio::test]
async fn the_last_admin_can_neither_be_demoted_nor_removed_nor_leave() {
    let app = spawn_app().await;
    let ada = logged_in(&app, "ada@example.com", "Engines").await;
    let me = account(&app, &ada).await;
    let (_, body) = portal_call(&app, &ada, "members_page", &[]).await;
    let ada_id = json(&body)["me"].as_str().unwrap().to_string();
    let (s, body) = portal_call(
        &app,
        &ada,
        "set_member_role",
        &[("user", &ada_id), ("role", "developer")],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("at least one admin"), "{body}");
    let (s, body) = portal_call(&app, &ada, "remove_member", &[("user", &ada_id)]).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (s, body) = portal_call(&app, &ada, "leave_org", &[]).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("only organisation"), "{body}");
    assert_eq!(account(&app, &ada).await["role"], "admin");

    // with a second admin, the first may step down and the second remove her
    let token = invite(&app, &ada, "admin").await;
    let grace = join(&app, &token, "grace@example.com").await;
    // an invitation ada made is withdrawn once she is no admin: it cannot bring her back
    let spare = invite(&app, &ada, "admin").await;
    let (s, body) = portal_call(
        &app,
        &ada,
        "set_member_role",
        &[("user", &ada_id), ("role", "viewer")],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(account(&app, &ada).await["role"], "viewer");
    let (s, body) = portal_call(&app, "", "invite_details", &[("token", &spare)]).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (s, body) = portal_call(&app, &grace, "remove_member", &[("user", &ada_id)]).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    // ada belonged to no other organisation: she is logged out
    let (_, body) = portal_call(&app, &ada, "current_account", &[]).await;
    assert_eq!(body, "null");
    // and, belonging nowhere, her account went with it: she can be invited again
    let token = invite(&app, &grace, "developer").await;
    let back = join(&app, &token, "ada@example.com").await;
    assert_eq!(account(&app, &back).await["role"], "developer");
    // another organisation's admin cannot touch Engines' members
    let bob = logged_in(&app, "bob@example.com", "Babbage").await;
    let grace_id = account(&app, &grace).await;
    assert_eq!(grace_id["org_id"], me["org_id"]);
    let (_, body) = portal_call(&app, &grace, "members_page", &[]).await;
    let grace_user = json(&body)["me"].as_str().unwrap().to_string();
    let (s, _) = portal_call(&app, &bob, "remove_member", &[("user", &grace_user)]).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn every_server_function_has_a_role_and_the_server_enforces_it() {
    let app = spawn_app().await;
    // every registered server function is in the table (an unlisted one would need an admin)
    let names: BTreeSet<String> = leptos::server_fn::axum::server_fn_paths()
        .filter_map(|(p, _)| p.strip_prefix("/_fn/").map(str::to_string))
        .collect();
    assert!(names.len() > 60, "{names:?}");
    for n in &names {
        assert!(app::roles::needed(n).is_some(), "{n} is not in app::roles");
    }
    let ada = logged_in(&app, "ada@example.com", "Engines").await;
    let (_, body) = portal_call(&app, &ada, "create_app", &[("name", "Shop"), ("uid", "")]).await;
    let shop = json(&body)["id"].as_str().unwrap().to_string();
    let token = invite(&app, &ada, "viewer").await;
    let viewer = join(&app, &token, "vera@example.com").await;
    let token = invite(&app, &ada, "developer").await;
    let developer = join(&app, &token, "dev@example.com").await;

    use domain::types::Role;
    for n in &names {
        let needed = app::roles::needed(n).unwrap();
        for (who, cookie, role) in [
            ("viewer", &viewer, Role::Viewer),
            ("developer", &developer, Role::Developer),
        ] {
            if needed <= role {
                continue;
            }
            // refused before the function reads its arguments: empty ones do
            let (s, body) = portal_call(&app, cookie, n, &[]).await;
            assert_eq!(s, StatusCode::FORBIDDEN, "{who} called {n}: {body}");
            let e = json(&body);
            assert!(
                e["Forbidden"].as_str().unwrap().contains(match needed {
                    Role::Admin => "Only an admin",
                    _ => "viewer",
                }),
                "{body}"
            );
        }
    }
    // with proper arguments too, and nothing changed
    let (s, _) = portal_call(&app, &viewer, "delete_app", &[("id", &shop)]).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = portal_call(&app, &developer, "create_api_key", &[("name", "mine")]).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (_, body) = portal_call(&app, &viewer, "list_apps", &[]).await;
    assert_eq!(
        json(&body).as_array().unwrap().len(),
        1,
        "the viewer reads, and the app is still there"
    );
    // what each may do, they can
    let (s, body) = portal_call(
        &app,
        &developer,
        "update_app",
        &[
            ("app", &shop),
            ("name", "Shop 2"),
            ("uid", ""),
            ("rate_limit", ""),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, body) = portal_call(
        &app,
        &viewer,
        "change_password",
        &[
            ("current", "difference engine 1822"),
            ("password", "a brand new passphrase"),
            ("confirm", "a brand new passphrase"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "a viewer's own password is theirs: {body}");
    // the pages a viewer reads mark them read-only
    let (s, body) = portal_call(&app, &viewer, "app_overview", &[("app", &shop)]).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(json(&body)["read_only"], true, "{body}");
}

#[tokio::test]
async fn a_nul_in_any_portal_form_is_a_422_in_words_not_a_500() {
    let app = spawn_app().await;
    let ada = logged_in(&app, "ada@example.com", "Engines").await;
    for (f, form) in [
        ("audit_log", vec![("query[actor]", "\0")]),
        ("audit_log", vec![("query[app]", "a\0b")]),
        ("create_api_key", vec![("name", "k"), ("app", "\0")]),
        ("set_member_role", vec![("user", "\0"), ("role", "viewer")]),
        ("switch_org", vec![("org", "\0")]),
        ("create_app", vec![("name", "\0"), ("uid", "")]),
    ] {
        let (s, body) = portal_call(&app, &ada, f, &form).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{f}: {body}");
        assert!(body.contains("NUL character"), "{f}: {body}");
    }
    // nothing was made, and "%00" written out as text is not a NUL
    let (_, apps) = portal_call(&app, &ada, "list_apps", &[]).await;
    assert_eq!(apps, "[]");
    let (s, body) = portal_call(&app, &ada, "create_app", &[("name", "100%00 sure"), ("uid", "")]).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(json(&body)["name"], "100%00 sure");
}
