#!/usr/bin/env bash
# Installs what Hookline's build needs, idempotently: each step checks first and does nothing
# when the tool is already there. Sourced by scripts/run and scripts/test.
#   setup_build      Rust wasm target, cargo-leptos, wasm-bindgen, PostgreSQL check
#   setup_test_tools Chromium, Node packages (Playwright, wasm-opt), Python venv with the Svix SDK,
#                    Prometheus (promtool)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED_TOOLS="$ROOT/../shared/tools/bin"   # prebuilt copies on the team's machines, if present
LEPTOS_VERSION=0.3.10
WASM_BINDGEN_VERSION=0.2.130
SVIX_PY_VERSION=2.9.1
SCHEMATHESIS_VERSION=4.32.5
# an Ed25519 implementation independent of Hookline's, for the v1a signature tests
CRYPTOGRAPHY_VERSION=46.0.3

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "need root for: $*" >&2; return 1; fi
}

APT_UPDATED=""
apt_install() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null || { echo "please install: ${missing[*]}" >&2; return 1; }
  say "apt-get install ${missing[*]}"
  if [ -z "$APT_UPDATED" ]; then as_root apt-get update -qq; APT_UPDATED=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# Installs a cargo tool at an exact version: the prebuilt copy when it matches, else cargo install.
cargo_tool() {
  local bin="$1" version="$2"; shift 2
  if command -v "$bin" >/dev/null && "$bin" --version 2>/dev/null | grep -q "$version"; then return 0; fi
  mkdir -p "$HOME/.cargo/bin"
  if [ -x "$SHARED_TOOLS/$bin" ] && "$SHARED_TOOLS/$bin" --version 2>/dev/null | grep -q "$version"; then
    say "installing prebuilt $bin $version"
    cp "$SHARED_TOOLS/$bin" "$HOME/.cargo/bin/$bin"
  else
    say "cargo install $* (this compiles for a while, once)"
    cargo install "$@"
  fi
}

pg_bin_dir() {
  # explicit `return 0`: a bare `return` inside an EXIT trap returns the trap's status
  if [ -n "${HOOKLINE_PG_BIN_DIR:-}" ]; then echo "$HOOKLINE_PG_BIN_DIR"; return 0; fi
  local d; d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
  if [ -n "$d" ]; then echo "$d"; return 0; fi
  if command -v pg_config >/dev/null; then pg_config --bindir; return 0; fi
  dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/initdb)"
  return 0
}

setup_build() {
  export PATH="$HOME/.cargo/bin:$PATH"
  command -v cargo >/dev/null || { echo "Rust is required: https://rustup.rs" >&2; exit 1; }
  if [ ! -x "$(pg_bin_dir)/initdb" ]; then
    apt_install postgresql || { echo "PostgreSQL server binaries are required (apt-get install postgresql)" >&2; exit 1; }
  fi
  if command -v rustup >/dev/null && ! rustup target list --installed | grep -q wasm32-unknown-unknown; then
    say "rustup target add wasm32-unknown-unknown"
    rustup target add wasm32-unknown-unknown
  fi
  cargo_tool cargo-leptos "$LEPTOS_VERSION" cargo-leptos --locked --version "$LEPTOS_VERSION" --features no_downloads
  cargo_tool wasm-bindgen "$WASM_BINDGEN_VERSION" wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
  command -v npm >/dev/null || apt_install nodejs npm
  if [ ! -x "$ROOT/end2end/node_modules/.bin/wasm-opt" ] || [ ! -d "$ROOT/end2end/node_modules/@axe-core/playwright" ]; then
    say "npm ci (end2end: Playwright, axe-core and binaryen's wasm-opt)"
    (cd "$ROOT/end2end" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
  fi
  # Debian's binaryen is too old (its wasm-opt output fails to hydrate); use npm's.
  export PATH="$ROOT/end2end/node_modules/.bin:$PATH"
}

setup_test_tools() {
  [ -x /usr/bin/chromium ] || apt_install chromium
  # The official Svix Python SDK, Schemathesis and cryptography, pinned (the SDK suites, the
  # fuzz run, and the Ed25519 signature tests).
  local want_py="svix==$SVIX_PY_VERSION schemathesis==$SCHEMATHESIS_VERSION cryptography==$CRYPTOGRAPHY_VERSION"
  if [ ! -x "$ROOT/.venv/bin/python" ] || [ "$(cat "$ROOT/.venv/.hookline-pins" 2>/dev/null)" != "$want_py" ]; then
    python3 -m venv --help >/dev/null 2>&1 || apt_install python3-venv
    say "python venv with the official Svix SDK and Schemathesis"
    [ -x "$ROOT/.venv/bin/python" ] || python3 -m venv "$ROOT/.venv"
    # shellcheck disable=SC2086
    "$ROOT/.venv/bin/pip" install -q --disable-pip-version-check $want_py
    echo "$want_py" >"$ROOT/.venv/.hookline-pins"
  fi
  # The official Svix JavaScript SDK, pinned by server/tests/sdk/js/package-lock.json.
  if [ ! -d "$ROOT/server/tests/sdk/js/node_modules/svix" ]; then
    say "npm ci (the official Svix JavaScript SDK)"
    (cd "$ROOT/server/tests/sdk/js" && npm ci --no-audit --no-fund --loglevel=error)
  fi
  # Debian's Prometheus: promtool checks and unit-tests the alert rules, and a real server
  # scrapes a running Hookline in the monitoring test
  command -v promtool >/dev/null && command -v prometheus >/dev/null || apt_install prometheus
  command -v unshare >/dev/null || apt_install util-linux
  command -v ip >/dev/null || apt_install iproute2
}
