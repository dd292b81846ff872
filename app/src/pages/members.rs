//! Members: who belongs to the organisation and with which role; an admin invites by link,
//! changes roles, removes members and withdraws invitations. And the page an invitation link
//! opens, to join as a new or existing user.
use super::{field_error, CopyButton, Field, Topbar};
use crate::members::{
    invite_details, members_page, AcceptInvite, InviteMember, JoinSignup, LeaveOrg, MembersData,
    RemoveMember, RevokeInvite, SetMemberRole,
};
use crate::paths::{self, Area};
use domain::types::Role;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

fn day(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d").to_string()
}

fn role_options(selected: Role) -> impl IntoView {
    Role::ALL
        .into_iter()
        .map(|r| view! { <option value=r.as_str() selected=r == selected>{r.label()}</option> })
        .collect_view()
}

#[component]
pub fn MembersPageView() -> impl IntoView {
    let invite = ServerAction::<InviteMember>::new();
    let revoke = ServerAction::<RevokeInvite>::new();
    let set_role = ServerAction::<SetMemberRole>::new();
    let remove = ServerAction::<RemoveMember>::new();
    let leave = ServerAction::<LeaveOrg>::new();
    let data = Resource::new(
        move || {
            (
                invite.version().get(),
                revoke.version().get(),
                set_role.version().get(),
                remove.version().get(),
            )
        },
        |_| members_page(),
    );
    let problem = move || {
        [
            set_role.value().get().and_then(|r| r.err()),
            remove.value().get().and_then(|r| r.err()),
            leave.value().get().and_then(|r| r.err()),
        ]
        .into_iter()
        .flatten()
        .next()
        .and_then(|e| e.general())
    };
    view! {
        <Topbar/>
        <main class="container audit">
            <Suspense fallback=|| view! { <h1>"Members"</h1> <super::PageSkeleton/> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(page) => view! { <MembersView page invite revoke set_role remove leave/> }.into_any(),
                        Err(e) => super::load_error(e, Area::Developer),
                    }
                })}
            </Suspense>
            <p class="error" role="alert">{problem}</p>
        </main>
    }
}

#[component]
fn MembersView(
    page: MembersData,
    invite: ServerAction<InviteMember>,
    revoke: ServerAction<RevokeInvite>,
    set_role: ServerAction<SetMemberRole>,
    remove: ServerAction<RemoveMember>,
    leave: ServerAction<LeaveOrg>,
) -> impl IntoView {
    let admin = page.my_role == Role::Admin;
    let link = move || invite.value().get().and_then(|r| r.ok());
    let me = page.me.clone();
    let invites = page.invites;
    view! {
        <h1>{format!("Members of {}", page.org_name)}</h1>
        <p class="lead">{format!("You are {} here.", page.my_role.label().to_lowercase())} " "
            {Role::ALL.into_iter().map(|r| view! { <span class="muted">{format!("{}: {}. ", r.label(), r.describe())}</span> }).collect_view()}
        </p>
        <table class="list" aria-label="Members">
            <thead><tr><th>"Email"</th><th>"Role"</th><th>"Joined"</th><th><span class="sr-only">"Actions"</span></th></tr></thead>
            <tbody>
                {page.members.into_iter().map(|m| {
                    let yours = m.user_id == me;
                    let (user, user_b) = (m.user_id.clone(), m.user_id.clone());
                    view! {
                        <tr>
                            <td>{m.email.clone()} {yours.then(|| view! { " " <span class="badge">"you"</span> })}</td>
                            <td>
                                {if admin {
                                    view! {
                                        <ActionForm action=set_role attr:class="inline">
                                            <input type="hidden" name="user" value=user.clone()/>
                                            <label class="sr-only" for=format!("role-{user}")>{format!("Role of {}", m.email)}</label>
                                            <select id=format!("role-{user}") name="role">{role_options(m.role)}</select>
                                            " "
                                            <button type="submit" class="link">"Change role"</button>
                                        </ActionForm>
                                    }.into_any()
                                } else {
                                    view! { {m.role.label()} }.into_any()
                                }}
                            </td>
                            <td>{day(m.joined_at)}</td>
                            <td>
                                {(admin && !yours).then(|| view! {
                                    <ActionForm action=remove attr:class="inline">
                                        <input type="hidden" name="user" value=user_b/>
                                        <button type="submit" class="link danger">"Remove"</button>
                                    </ActionForm>
                                })}
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
        {if admin {
            view! {
                <section class="card">
                    <h2>"Invite someone"</h2>
                    <p class="hint">"Hookline sends no email: copy the link and send it yourself. It works once, for 7 days, for a new or an existing Hookline user."</p>
                    <ActionForm action=invite attr:class="form inline-form">
                        <div class="field">
                            <label for="invite-role">"Role"</label>
                            <select id="invite-role" name="role">{role_options(Role::Developer)}</select>
                        </div>
                        <button type="submit" class="button">"Create invitation link"</button>
                    </ActionForm>
                    {move || link().map(|l| view! {
                        <div class="secret-box" role="status">
                            <p><strong>"Send this link to the person you invite:"</strong></p>
                            <code class="secret" id="invite-link">{l.clone()}</code>
                            " "
                            <CopyButton text=l/>
                        </div>
                    })}
                    {(!invites.is_empty()).then(move || view! {
                        <table class="list" aria-label="Open invitations">
                            <thead><tr><th>"Role"</th><th>"Made by"</th><th>"Expires"</th><th><span class="sr-only">"Actions"</span></th></tr></thead>
                            <tbody>
                                {invites.into_iter().map(|i| view! {
                                    <tr>
                                        <td>{i.role.label()}</td>
                                        <td>{i.invited_by.clone()}</td>
                                        <td>{day(i.expires_at)}</td>
                                        <td>
                                            <ActionForm action=revoke attr:class="inline">
                                                <input type="hidden" name="id" value=i.id/>
                                                <button type="submit" class="link danger">"Withdraw"</button>
                                            </ActionForm>
                                        </td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    })}
                </section>
            }.into_any()
        } else {
            view! { <p class="muted">"Only an admin invites members and changes roles."</p> }.into_any()
        }}
        {page.has_other_org.then(|| view! {
            <ActionForm action=leave attr:class="inline">
                <button type="submit" class="button secondary">{format!("Leave {}", page.org_name)}</button>
            </ActionForm>
        })}
    }
}

/// The page an invitation link opens (`/join?token=…`).
#[component]
pub fn JoinPage() -> impl IntoView {
    let query = use_query_map();
    let token = move || query.read().get("token").unwrap_or_default();
    let details = Resource::new(token, invite_details);
    let accept = ServerAction::<AcceptInvite>::new();
    let join = ServerAction::<JoinSignup>::new();
    let joined = join.value();
    let accept_error = move || {
        accept
            .value()
            .get()
            .and_then(|r| r.err())
            .and_then(|e| e.general())
    };
    let join_error = move || joined.get().and_then(|r| r.err()).and_then(|e| e.general());
    view! {
        <Topbar/>
        <main class="container narrow">
            <h1>"Join an organisation"</h1>
            <Suspense fallback=|| view! { <super::PageSkeleton/> }>
                {move || Suspend::new(async move {
                    match details.await {
                        Ok(d) => {
                            let offer = format!(
                                "{} invites you to {} as {}.",
                                d.invite.invited_by, d.invite.org_name, d.invite.role.label().to_lowercase()
                            );
                            let login = format!(
                                "{}?next={}",
                                paths::LOGIN,
                                form_urlencoded::byte_serialize(format!("{}?token={}", paths::JOIN, token()).as_bytes()).collect::<String>()
                            );
                            view! {
                                <p class="lead">{offer}</p>
                                {match d.logged_in_as {
                                    Some(email) => view! {
                                        <ActionForm action=accept attr:class="form">
                                            <input type="hidden" name="token" value=token()/>
                                            <button type="submit" class="button">{format!("Join as {email}")}</button>
                                        </ActionForm>
                                        <p class="error" role="alert">{accept_error}</p>
                                    }.into_any(),
                                    None => view! {
                                        <ActionForm action=join attr:class="form" attr:novalidate=true>
                                            <input type="hidden" name="token" value=token()/>
                                            <Field label="Email" name="email" kind="email" autocomplete="email" required=true
                                                error=Signal::derive(field_error(joined, "email"))/>
                                            <Field label="Password" name="password" kind="password" autocomplete="new-password" required=true
                                                hint="At least 10 characters." error=Signal::derive(field_error(joined, "password"))/>
                                            <button type="submit" class="button">"Create account and join"</button>
                                        </ActionForm>
                                        <p class="error" role="alert">{join_error}</p>
                                        <p>"Already use Hookline? " <a href=login>"Log in"</a> " to join with your account."</p>
                                    }.into_any(),
                                }}
                            }.into_any()
                        }
                        Err(e) => view! { <p class="notice" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </main>
    }
}
