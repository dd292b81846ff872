//! Prefixed, time-ordered ids in Svix's style (`app_2Zx...`): a KSUID with millisecond
//! precision, so ids sort by creation time and make natural pagination cursors.
use svix_ksuid::{KsuidLike, KsuidMs};

pub const ORG: &str = "org";
pub const USER: &str = "user";
pub const API_KEY: &str = "key";
pub const APP: &str = "app";
pub const ENDPOINT: &str = "ep";
pub const MESSAGE: &str = "msg";
pub const ATTEMPT: &str = "atmpt";
pub const TASK: &str = "qtask";

/// A new id such as `msg_2bX...` whose KSUID part sorts by creation time.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", KsuidMs::new(None, None))
}

/// The smallest id of `prefix` created at or after `millis` (for time-bounded cursors).
pub fn id_floor_at(prefix: &str, millis: i64) -> String {
    format!("{prefix}_{}", KsuidMs::from_millis(Some(millis), Some(&[0u8; 16])))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_prefixed_and_sort_by_time() {
        let a = new_id(MESSAGE);
        std::thread::sleep(std::time::Duration::from_millis(5));
        let b = new_id(MESSAGE);
        assert!(a.starts_with("msg_") && a.len() == 4 + 27, "{a}");
        assert!(a < b);
        let floor = id_floor_at(MESSAGE, chrono::Utc::now().timestamp_millis() + 1000);
        assert!(b < floor);
    }
}
