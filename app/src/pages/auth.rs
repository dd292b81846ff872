//! Sign up and log in.
use super::{field_error, Field, Topbar};
use crate::api::{Login, Signup};
use crate::paths;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

#[component]
pub fn SignupPage() -> impl IntoView {
    let action = ServerAction::<Signup>::new();
    let result = action.value();
    let general = move || result.get().and_then(|r| r.err()).and_then(|e| e.general());
    view! {
        <Topbar/>
        <main class="container narrow">
            <h1>"Create your account"</h1>
            <p class="lead">"Next comes your first webhook: four short steps, no server of your own needed."</p>
            <ActionForm action=action attr:class="form" attr:novalidate=true>
                <Field label="Email" name="email" kind="email" autocomplete="email" required=true
                    error=Signal::derive(field_error(result, "email"))/>
                <Field label="Password" name="password" kind="password" autocomplete="new-password" required=true
                    hint="At least 10 characters, not easy to guess."
                    error=Signal::derive(field_error(result, "password"))/>
                <Field label="Organisation name (optional)" name="organization" autocomplete="organization"
                    hint="Your company or team. Left empty, your email names it."
                    error=Signal::derive(field_error(result, "organization"))/>
                <p class="error" role="alert">{general}</p>
                <button type="submit" class="button" disabled=move || action.pending().get()>"Sign up"</button>
            </ActionForm>
            <p>"Already have an account? " <a href=paths::LOGIN>"Log in"</a></p>
        </main>
    }
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let action = ServerAction::<Login>::new();
    let result = action.value();
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_default();
    let general = move || result.get().and_then(|r| r.err()).and_then(|e| e.general());
    view! {
        <Topbar/>
        <main class="container narrow">
            <h1>"Log in"</h1>
            <ActionForm action=action attr:class="form" attr:novalidate=true>
                <input type="hidden" name="next" value=next/>
                <Field label="Email" name="email" kind="email" autocomplete="email" required=true
                    error=Signal::derive(field_error(result, "email"))/>
                <Field label="Password" name="password" kind="password" autocomplete="current-password" required=true
                    error=Signal::derive(field_error(result, "password"))/>
                <p class="error" role="alert">{general}</p>
                <button type="submit" class="button" disabled=move || action.pending().get()>"Log in"</button>
            </ActionForm>
            <p>"New here? " <a href=paths::SIGNUP>"Create an account"</a></p>
            <p class="hint">"Forgot your password? Your Hookline operator can make you a reset link with "
                <code>"hookline user reset-password --email you@example.com"</code> "."</p>
        </main>
    }
}
