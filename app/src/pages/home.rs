use super::Topbar;
use crate::api::current_account;
use crate::paths;
use leptos::prelude::*;

/// The landing page: what Hookline is, and the two ways in (the portal, the API).
#[component]
pub fn HomePage() -> impl IntoView {
    let account = Resource::new(|| (), |_| current_account());
    view! {
        <Topbar/>
        <main class="landing">
            <section class="hero">
                <h1>"Webhooks your customers can rely on"</h1>
                <p class="lead">
                    "Hookline is webhook delivery you run yourself, next to your service. Your backend posts an event once; "
                    "Hookline delivers it to every subscribed endpoint, signed, retried with backoff, every attempt logged, "
                    "failures kept and replayable. It needs nothing but PostgreSQL, and its API is Svix's, so Svix's SDKs work unchanged."
                </p>
                <Suspense fallback=|| view! { <p><a class="button big" href=paths::SIGNUP>"Get started"</a></p> }>
                    {move || Suspend::new(async move {
                        match account.await {
                            Ok(Some(a)) => view! {
                                <p><a class="button big" href=paths::OVERVIEW>"Open your overview"</a>
                                   <span class="muted">{format!("  Logged in to {}.", a.org_name)}</span></p>
                            }.into_any(),
                            _ => view! {
                                <p><a class="button big" href=paths::SIGNUP>"Get started"</a>
                                   " " <a href=paths::LOGIN>"or log in"</a></p>
                                <p class="muted">"Sign up and send your first webhook in about a minute, to a test inbox Hookline hosts for you."</p>
                            }.into_any(),
                        }
                    })}
                </Suspense>
            </section>

            <section class="routes" aria-label="Two ways to use Hookline">
                <div class="card">
                    <h2>"In the portal"</h2>
                    <ol>
                        <li>"Sign up, and name an application (one per customer of yours)."</li>
                        <li>"Add an endpoint: your URL, or a test inbox."</li>
                        <li>"Send a test event, and watch it arrive with its signature checked."</li>
                        <li>"Follow every delivery's timeline, replay failures, rotate secrets, and give your customers their own portal."</li>
                    </ol>
                    <p><a href=paths::SIGNUP>"Create an account →"</a></p>
                </div>
                <div class="card">
                    <h2>"From your backend"</h2>
                    <ol>
                        <li>"Make an API key in the portal (" <em>"API keys"</em> "), or on the server: " <code>"hookline api-key create --org my-company"</code></li>
                        <li>"Create applications and endpoints with the REST API or any Svix SDK, pointed at this server."</li>
                        <li>"Post each event once: " <code>"POST /api/v1/app/{app_id}/msg"</code></li>
                    </ol>
                    <pre class="snippet"><code>"curl -X POST $HOOKLINE/api/v1/app/acme/msg \\\n  -H \"Authorization: Bearer $KEY\" \\\n  -d '{\"eventType\": \"invoice.paid\", \"payload\": {\"id\": \"inv_1\"}}'"</code></pre>
                    <p><a href=paths::DOCS>"Read the API reference →"</a></p>
                </div>
            </section>

            <section class="features" aria-label="What you get">
                <div><h3>"Signed"</h3><p>"Standard Webhooks signatures, with secret rotation and a grace period."</p></div>
                <div><h3>"Retried"</h3><p>"Backoff with jitter, a circuit breaker per endpoint, dead letters you can recover."</p></div>
                <div><h3>"Visible"</h3><p>"Every attempt's status, timing, response and headers, live."</p></div>
                <div><h3>"Yours"</h3><p>"One binary and PostgreSQL, on your machines."</p></div>
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
