use super::Topbar;
use crate::paths;
use leptos::prelude::*;

#[component]
pub fn HomePage() -> impl IntoView {
    view! {
        <Topbar/>
        <main class="container">
            <h1>"Hookline"</h1>
            <p class="lead">
                "Webhook delivery you run yourself: a Svix-compatible API, signed deliveries, "
                "retries with backoff, and a log of every attempt."
            </p>
            <p><a class="button" href=paths::SIGNUP>"Create an account"</a> " " <a href=paths::LOGIN>"or log in"</a></p>
            <section class="card">
                <h2>"Send your first webhook"</h2>
                <ol>
                    <li>"Create an API key: " <code>"hookline api-key create --org my-company"</code></li>
                    <li>"Create an application, an event type and an endpoint with the REST API or any Svix SDK."</li>
                    <li>"Post a message to " <code>"/api/v1/app/{app_id}/msg"</code> " and watch it arrive, signed."</li>
                </ol>
                <p><a href=paths::DOCS>"Read the API reference"</a></p>
            </section>
        </main>
    }
}

#[component]
pub fn NotFound() -> impl IntoView {
    view! {
        <Topbar/>
        <main class="container">
            <h1>"Page not found"</h1>
            <p><a href=paths::HOME>"Back to the start page"</a></p>
        </main>
    }
}
