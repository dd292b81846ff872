//! The portal's browser entry point: hydrates the server-rendered page.
#![forbid(unsafe_code)]
// The portal's view types nest deeply; type-checking them needs more than the default 128.
#![recursion_limit = "256"]

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
