//! Token cache documents: `TokenCache::deserialize` on any text. Whatever it
//! accepts must serialize, and its own output must load again and serialize to
//! the same bytes (the round trip is a fixed point). `deserialize_reader` on the
//! same bytes must agree with it: the same cache, or the same error (and an
//! error for bytes that are not UTF-8). A lookup on what loaded makes its
//! indexes. Loading again over a loaded cache (reusing the secret blocks of
//! the tokens replaced, but not of a token held) gives the same cache.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oxmsal::cache::{AccessTokenQuery, TokenCache};

fn counts(c: &TokenCache) -> [usize; 5] {
    [
        c.access_token_count(),
        c.refresh_token_count(),
        c.id_token_count(),
        c.account_count(),
        c.app_metadata_count(),
    ]
}

fuzz_target!(|data: &[u8]| {
    let streamed = TokenCache::new();
    let stream_result = streamed.deserialize_reader(std::io::Cursor::new(data));
    let Ok(text) = std::str::from_utf8(data) else {
        assert!(stream_result.is_err(), "bytes that are not UTF-8 loaded");
        assert_eq!(counts(&streamed), [0; 5]);
        return;
    };
    let cache = TokenCache::new();
    if let Err(e) = cache.deserialize(text) {
        let _ = e.to_string();
        // A failed load leaves the cache unchanged (empty).
        assert_eq!(counts(&cache), [0; 5]);
        match stream_result {
            Ok(()) => panic!("deserialize_reader accepted what deserialize refused: {e}"),
            Err(s) => assert_eq!(
                s.to_string(),
                e.to_string(),
                "the two loads word the error differently"
            ),
        }
        return;
    }
    if let Err(e) = stream_result {
        panic!("deserialize_reader refused what deserialize accepted: {e}");
    }
    let _ = cache.accounts();
    // The first lookup makes the indexes of whatever loaded.
    let (environments, scopes) = (vec!["h".to_owned()], vec!["s".to_owned()]);
    let _ = cache.find_access_token(&AccessTokenQuery::new("c", &environments, &scopes), 0);

    let first = match cache.serialize() {
        Ok(s) => s,
        Err(e) => panic!("serialize failed after a successful deserialize: {e}"),
    };
    match streamed.serialize() {
        Ok(s) => assert_eq!(s, first, "deserialize_reader loaded another cache"),
        Err(e) => panic!("serialize failed after a successful deserialize_reader: {e}"),
    }
    // Loaded again over what they hold (the secret blocks of the tokens
    // they replace are reused), both caches end as they were.
    let _held = cache.find_access_token(&AccessTokenQuery::new("c", &environments, &scopes), 0);
    if let Err(e) = cache.deserialize(text) {
        panic!("the same text does not load over its own cache: {e}");
    }
    if let Err(e) = streamed.deserialize(&first) {
        panic!("the cache's own output does not load over the streamed cache: {e}");
    }
    for (which, loaded) in [("deserialize", &cache), ("deserialize_reader", &streamed)] {
        match loaded.serialize() {
            Ok(s) => assert_eq!(s, first, "loading over the {which} cache changed it"),
            Err(e) => panic!("serialize failed after loading over a cache: {e}"),
        }
    }
    let again = TokenCache::new();
    if let Err(e) = again.deserialize(&first) {
        panic!("the cache's own output does not load: {e}\n--- output ---\n{first}");
    }
    assert_eq!(
        counts(&cache),
        counts(&again),
        "entry counts changed over the round trip"
    );
    let second = match again.serialize() {
        Ok(s) => s,
        Err(e) => panic!("serialize failed on the second round: {e}"),
    };
    assert_eq!(
        first, second,
        "serialize -> deserialize -> serialize is not a fixed point"
    );
});
