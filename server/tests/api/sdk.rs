//! The official Svix SDKs, unmodified and pinned, drive Hookline: Python (PyPI `svix`) through
//! its `server_url` option and JavaScript (npm `svix`) through `serverUrl`.
use crate::helpers::*;
use std::path::PathBuf;
use std::process::Command;

pub(crate) fn python() -> PathBuf {
    if let Ok(p) = std::env::var("HOOKLINE_SDK_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    assert!(
        venv.exists(),
        "the Svix SDK test needs Python with the `svix` package: run scripts/test (it creates .venv), \
         or set HOOKLINE_SDK_PYTHON to a python that has `pip install svix`"
    );
    venv
}

#[tokio::test]
async fn the_official_svix_python_sdk_works_against_hookline() {
    let app = spawn_app().await;
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/sdk/svix_sdk_check.py");
    let out = tokio::task::spawn_blocking({
        let base = app.base.clone();
        let key = app.key.clone();
        move || {
            Command::new(python())
                .arg(script)
                .env("HOOKLINE_URL", base)
                .env("HOOKLINE_KEY", key)
                .output()
        }
    })
    .await
    .unwrap()
    .expect("run python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "SDK check failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(stdout.contains(" SDK CHECKS PASSED"), "{stdout}");
    println!("{stdout}"); // each check's line, for `--nocapture`
}

#[tokio::test]
async fn the_official_svix_javascript_sdk_works_against_hookline() {
    let app = spawn_app().await;
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/sdk/js");
    assert!(
        dir.join("node_modules/svix").exists(),
        "the JavaScript SDK test needs `npm ci` in server/tests/sdk/js (scripts/test runs it)"
    );
    let out = tokio::task::spawn_blocking({
        let base = app.base.clone();
        let key = app.key.clone();
        move || {
            Command::new("node")
                .arg("check.mjs")
                .current_dir(dir)
                .env("HOOKLINE_URL", base)
                .env("HOOKLINE_KEY", key)
                .output()
        }
    })
    .await
    .unwrap()
    .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "JS SDK check failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(stdout.contains("JS SDK CHECKS PASSED"), "{stdout}");
    println!("{stdout}");
}
