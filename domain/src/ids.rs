//! Prefixed, time-ordered ids in Svix's style (`app_2Zx...`): a KSUID with millisecond
//! precision, so ids sort by creation time and make natural pagination cursors.
//!
//! The prefixes are compiled everywhere (validation uses them); making ids is server-only.
#[cfg(feature = "server")]
use std::sync::Mutex;
#[cfg(feature = "server")]
use svix_ksuid::KsuidMs;

pub const ORG: &str = "org";
pub const USER: &str = "user";
pub const API_KEY: &str = "key";
pub const APP: &str = "app";
pub const ENDPOINT: &str = "ep";
pub const MESSAGE: &str = "msg";
pub const ATTEMPT: &str = "atmpt";
pub const TASK: &str = "qtask";
pub const INBOX: &str = "inbox";
pub const AUDIT: &str = "audit";
pub const INVITE: &str = "inv";

/// A new id such as `msg_2bX...` whose KSUID part sorts by creation time. Within one process
/// ids are strictly increasing: inside the same 4 ms tick the random part is incremented
/// instead of drawn again.
#[cfg(feature = "server")]
pub fn new_id(prefix: &str) -> String {
    static LAST: Mutex<(u64, u128)> = Mutex::new((0, 0));
    let now_ms = chrono::Utc::now().timestamp_millis();
    let tick = KsuidMs::from_millis(Some(now_ms), Some(&[0u8; 15])).timestamp_raw();
    let mut last = LAST.lock().unwrap_or_else(|e| e.into_inner());
    let (tick, payload) = if tick <= last.0 {
        (last.0, last.1 + 1)
    } else {
        // 15 random bytes fill the payload; one bit of headroom keeps increments from wrapping.
        (tick, rand::random::<u128>() >> 9)
    };
    *last = (tick, payload);
    format!(
        "{prefix}_{}",
        KsuidMs::new_raw(tick, Some(&payload.to_be_bytes()[1..]))
    )
}

/// The smallest id of `prefix` created at or after `millis` (for time-bounded cursors).
#[cfg(feature = "server")]
pub fn id_floor_at(prefix: &str, millis: i64) -> String {
    format!(
        "{prefix}_{}",
        KsuidMs::from_millis(Some(millis), Some(&[0u8; 15]))
    )
}

/// The creation time (ms) of an id made by [`new_id`] or [`id_floor_at`]: its first 27
/// characters after the prefix are the KSUID (anything after them is ignored, so a bound just
/// past an id reads as that id's time). `None` for anything else.
#[cfg(feature = "server")]
pub fn id_time_millis(id: &str) -> Option<i64> {
    use svix_ksuid::KsuidLike;
    let (_, ksuid) = id.split_once('_')?;
    let ksuid = ksuid.get(..27)?;
    KsuidMs::from_base62(ksuid).ok().map(|k| k.timestamp_millis())
}

#[cfg(all(test, feature = "server"))]
mod tests {
    use super::*;

    #[test]
    fn ids_made_in_a_burst_are_strictly_increasing() {
        let ids: Vec<String> = (0..1000).map(|_| new_id(APP)).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn ids_are_prefixed_and_sort_by_time() {
        let a = new_id(MESSAGE);
        std::thread::sleep(std::time::Duration::from_millis(5));
        let b = new_id(MESSAGE);
        assert!(a.starts_with("msg_") && a.len() == 4 + 27, "{a}");
        assert!(a < b);
        let floor = id_floor_at(MESSAGE, chrono::Utc::now().timestamp_millis() + 1000);
        assert!(b < floor);
        let ms = id_time_millis(&a).unwrap();
        assert!((chrono::Utc::now().timestamp_millis() - ms).abs() < 1000, "{ms}");
        assert_eq!(
            id_time_millis(&format!("{a}0")),
            Some(ms),
            "a bound just past an id"
        );
        assert_eq!(
            id_time_millis(&id_floor_at(MESSAGE, 1_780_000_000_000)),
            Some(1_780_000_000_000)
        );
        assert_eq!(id_time_millis("msg_"), None);
    }
}
