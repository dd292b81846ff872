//! The Hookline portal: routes, pages and (later) server functions. Rendered on the server
//! and hydrated in the browser.
#![forbid(unsafe_code)]
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::StaticSegment;

/// Route paths, shared by the router, links and tests.
pub mod paths {
    pub const HOME: &str = "/";
    pub const DOCS: &str = "/docs";
}

/// The HTML document around every page.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" href="/favicon.ico"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Set only in the browser, once hydration has run: tests wait for it before clicking.
    let (hydrated, set_hydrated) = signal(false);
    Effect::new(move |_| set_hydrated.set(true));
    view! {
        <Stylesheet id="leptos" href="/pkg/hookline.css"/>
        <Title text="Hookline"/>
        <div id="app-root" data-hydrated=move || hydrated.get().to_string()>
            <Router>
                <Routes fallback=|| view! { <NotFound/> }>
                    <Route path=StaticSegment("") view=HomePage/>
                </Routes>
            </Router>
        </div>
    }
}

#[component]
fn HomePage() -> impl IntoView {
    view! {
        <header class="topbar">
            <a class="brand" href=paths::HOME>"Hookline"</a>
            <nav><a href=paths::DOCS>"API docs"</a></nav>
        </header>
        <main class="container">
            <h1>"Hookline"</h1>
            <p class="lead">
                "Webhook delivery you run yourself: a Svix-compatible API, signed deliveries, "
                "retries with backoff, and a log of every attempt."
            </p>
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
fn NotFound() -> impl IntoView {
    view! {
        <main class="container">
            <h1>"Page not found"</h1>
            <p><a href=paths::HOME>"Back to the start page"</a></p>
        </main>
    }
}
