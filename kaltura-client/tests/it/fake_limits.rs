//! The fake server's resource bounds: back-reference expansion, catalog size, body size,
//! slow and half-open clients. Bounds are proven with sizes and counts, never with timings.

use kaltura_client::fake::{FakeKaltura, Limits};
use serde_json::{Value, json};

use crate::fake_support::{Api, assert_error};

/// The multirequest of the issue: 22 chained `media.add`, each name twice the previous one.
fn chain_body(ks: &str) -> Value {
    let mut body = json!({"format": 1, "ks": ks});
    body["1"] = json!({"service": "media", "action": "add", "entry": {"name": "x".repeat(100), "mediaType": 1}});
    for n in 2..=22 {
        body[n.to_string()] = json!({
            "service": "media",
            "action": "add",
            "entry": {"name": format!("{{{p}:result:name}}{{{p}:result:name}}", p = n - 1), "mediaType": 1}
        });
    }
    body
}

#[tokio::test]
async fn chained_back_references_get_an_error_not_an_abort() {
    let api = Api::start().await;
    let body = chain_body(&api.fake.admin_ks());
    assert!(
        body.to_string().len() < 5_000,
        "the attack is a small request"
    );
    let results: Value = api.multirequest(&body).await;
    let results = results.as_array().expect("one result per call");
    assert_eq!(results.len(), 22);
    // Call i (0-based) names 100 · 2^i bytes, all of it expanded from back-references
    // after the first call: the calls up to the 1 MiB budget run...
    let mut spent = 0usize;
    let first_refused = (1..22)
        .find(|i| {
            spent += 100usize << i;
            spent > Limits::DEFAULT_MAX_EXPANSION_BYTES
        })
        .unwrap();
    assert_eq!(first_refused, 13);
    for (i, r) in results.iter().enumerate().take(first_refused) {
        assert_eq!(
            r["name"].as_str().map(str::len),
            Some(100usize << i),
            "call {i}"
        );
    }
    // ...the one that would pass it answers the bound, with the figure...
    assert_error(
        &results[first_refused],
        "MULTIREQUEST_EXPANSION_TOO_LARGE",
        &format!(
            "Multirequest back-references expand to more than {} bytes",
            Limits::DEFAULT_MAX_EXPANSION_BYTES
        ),
        json!({"MAX_BYTES": Limits::DEFAULT_MAX_EXPANSION_BYTES.to_string()}),
    );
    // ...and the later ones refer to a failed call, which expands to "" as on Kaltura.
    for r in &results[first_refused + 1..] {
        assert_eq!(r["name"], "", "{r}");
    }
    assert_eq!(api.fake.entry_count(), 21);
    // The server is still there.
    let pong = api.call("system", "ping", json!({})).await;
    assert_eq!(pong, json!(true));
}

#[tokio::test]
async fn whole_value_references_count_their_size() {
    let api = Api::with(
        FakeKaltura::builder()
            .seed_demo_data(true)
            .limits(Limits::default().max_expansion_bytes(10_000)),
    )
    .await;
    let mut body = json!({"format": 1, "ks": api.fake.admin_ks(), "1": {"service": "media", "action": "list", "pager": {"pageSize": 500}}});
    // Each call copies the whole list into a parameter.
    for n in 2..=50 {
        body[n.to_string()] = json!({"service": "system", "action": "ping", "copy": "{1:result}"});
    }
    let results: Value = api.multirequest(&body).await;
    let results = results.as_array().unwrap();
    assert_eq!(results[0]["objectType"], "KalturaMediaListResponse");
    assert!(
        results[1..]
            .iter()
            .all(|r| r["code"] == "MULTIREQUEST_EXPANSION_TOO_LARGE"),
        "{results:?}"
    );
}

#[tokio::test]
async fn catalog_counts_are_bounded() {
    let api = Api::with(
        FakeKaltura::builder().limits(Limits::default().max_entries(3).max_users(2).max_objects(2)),
    )
    .await;
    for i in 0..3 {
        let v = api
            .admin(
                "media",
                "add",
                json!({"entry": {"name": format!("e{i}"), "mediaType": 1}}),
            )
            .await;
        assert_eq!(v["objectType"], "KalturaMediaEntry", "{v}");
    }
    let v = api
        .admin(
            "media",
            "add",
            json!({"entry": {"name": "one too many", "mediaType": 1}}),
        )
        .await;
    assert_error(
        &v,
        "MAX_OBJECTS_REACHED",
        "Max number of \"3\" entry objects was reached",
        json!({"OBJECT_TYPE": "entry", "MAX_NUM": "3"}),
    );
    assert_eq!(api.fake.entry_count(), 3);

    for id in ["u1", "u2"] {
        let v = api.admin("user", "add", json!({"user": {"id": id}})).await;
        assert_eq!(v["id"], id, "{v}");
    }
    let v = api
        .admin("user", "add", json!({"user": {"id": "u3"}}))
        .await;
    assert_eq!(v["code"], "MAX_OBJECTS_REACHED", "{v}");
    assert_eq!(v["args"]["MAX_NUM"], "2");

    // Other objects share one count; a delete gives room back.
    let a = api
        .admin("category", "add", json!({"category": {"name": "a"}}))
        .await;
    api.admin("category", "add", json!({"category": {"name": "b"}}))
        .await;
    let v = api
        .admin("category", "add", json!({"category": {"name": "c"}}))
        .await;
    assert_eq!(v["code"], "MAX_OBJECTS_REACHED", "{v}");
    api.admin("category", "delete", json!({"id": a["id"]}))
        .await;
    let v = api
        .admin("category", "add", json!({"category": {"name": "c"}}))
        .await;
    assert_eq!(v["name"], "c", "{v}");
}

#[tokio::test]
async fn catalog_bytes_are_bounded_and_deletes_give_room_back() {
    let api =
        Api::with(FakeKaltura::builder().limits(Limits::default().max_store_bytes(100_000))).await;
    let big = "d".repeat(30_000);
    let mut ids = Vec::new();
    for _ in 0..3 {
        let v = api
            .admin(
                "media",
                "add",
                json!({"entry": {"name": "big", "description": big, "mediaType": 1}}),
            )
            .await;
        assert_eq!(v["objectType"], "KalturaMediaEntry", "{v}");
        ids.push(v["id"].clone());
    }
    let v = api
        .admin(
            "media",
            "add",
            json!({"entry": {"name": "big", "description": big, "mediaType": 1}}),
        )
        .await;
    assert_error(
        &v,
        "STORE_SIZE_LIMIT_REACHED",
        "The catalog is full (limit 100000 bytes)",
        json!({"MAX_BYTES": "100000"}),
    );
    // Updates that grow an object count too.
    let v = api
        .admin(
            "media",
            "update",
            json!({"entryId": ids[0], "mediaEntry": {"description": big.repeat(2)}}),
        )
        .await;
    assert_eq!(v["code"], "STORE_SIZE_LIMIT_REACHED", "{v}");
    api.admin("media", "delete", json!({"entryId": ids[0]}))
        .await;
    let v = api
        .admin(
            "media",
            "add",
            json!({"entry": {"name": "fits again", "description": big, "mediaType": 1}}),
        )
        .await;
    assert_eq!(v["name"], "fits again", "{v}");
    assert_eq!(api.fake.entry_count(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_megabyte_of_braces_completes_while_others_are_served() {
    let api = Api::start().await;
    // Just under the 1 MiB body limit, almost all of it `{`.
    let braces = "{".repeat(500_000);
    let body = json!({"format": 1, "ks": api.fake.admin_ks(), "1": {"service": "system", "action": "ping", "x": braces}, "2": {"service": "system", "action": "ping", "y": format!("{braces}{{1:result}}")}});
    let heavy = api
        .http
        .post(format!("{}/api_v3/service/multirequest", api.fake.url()))
        .json(&body)
        .send();
    let ping = api.call("system", "ping", json!({}));
    let (heavy, ping) = tokio::join!(heavy, ping);
    assert_eq!(ping, json!(true));
    let heavy: Value = heavy.unwrap().json().await.unwrap();
    assert_eq!(heavy, json!([true, true]));
}

#[tokio::test]
async fn body_limit_is_configurable() {
    let api =
        Api::with(FakeKaltura::builder().limits(Limits::default().max_body_bytes(4096))).await;
    let (status, body) = api
        .raw(
            api.http
                .post(api.url("system", "ping"))
                .header("content-type", "application/json")
                .body(format!("{{\"pad\":\"{}\"}}", "p".repeat(5000))),
        )
        .await;
    assert_eq!(status, 413);
    assert!(body.contains("4096 bytes"), "{body}");
    let (status, body) = api
        .raw(
            api.http
                .post(format!("{}?format=1", api.url("system", "ping")))
                .header("content-type", "application/json")
                .body(format!("{{\"pad\":\"{}\"}}", "p".repeat(3000))),
        )
        .await;
    assert_eq!((status, body.as_str()), (200, "true"));
}

/// Reads from `stream` until the server closes it; returns what was read. A guard timeout
/// turns a server that never closes into a failure instead of a hang (no timing is asserted).
async fn read_until_closed(stream: &mut tokio::net::TcpStream) -> String {
    use tokio::io::AsyncReadExt as _;
    let mut out = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        stream.read_to_end(&mut out),
    )
    .await;
    assert!(read.is_ok(), "the server never closed the connection");
    String::from_utf8_lossy(&out).into_owned()
}

fn short_timeouts() -> Limits {
    Limits::default()
        .header_read_timeout(std::time::Duration::from_millis(200))
        .request_timeout(std::time::Duration::from_millis(200))
}

#[tokio::test]
async fn a_half_open_client_is_dropped_and_does_not_block_others() {
    use tokio::io::AsyncWriteExt as _;
    // One connection slot only: the stalled client holds it until the header timeout.
    let api = Api::with(FakeKaltura::builder().limits(short_timeouts().max_connections(1))).await;
    let mut stalled = tokio::net::TcpStream::connect(api.fake.addr())
        .await
        .unwrap();
    stalled
        .write_all(b"POST /api_v3/service/system/action/ping HTTP/1.1\r\nHost: x\r\nContent-Ty")
        .await
        .unwrap();
    // Another client is answered (once the stalled one has been dropped).
    let ping = api.call("system", "ping", json!({}));
    let (ping, leftover) = tokio::join!(ping, read_until_closed(&mut stalled));
    assert_eq!(ping, json!(true));
    assert!(!leftover.contains("200 OK"), "{leftover}");
}

#[tokio::test]
async fn a_client_that_stalls_in_the_body_gets_408() {
    use tokio::io::AsyncWriteExt as _;
    let api = Api::with(FakeKaltura::builder().limits(short_timeouts())).await;
    let mut slow = tokio::net::TcpStream::connect(api.fake.addr())
        .await
        .unwrap();
    slow.write_all(b"POST /api_v3/service/system/action/ping HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"format\":")
        .await
        .unwrap();
    let ping = api.call("system", "ping", json!({}));
    let (ping, answer) = tokio::join!(ping, read_until_closed(&mut slow));
    assert_eq!(ping, json!(true));
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    use tokio::io::AsyncWriteExt as _;
    let api = Api::with(FakeKaltura::builder().limits(short_timeouts())).await;
    let mut idle = tokio::net::TcpStream::connect(api.fake.addr())
        .await
        .unwrap();
    idle.write_all(b"GET /api_v3/service/system/action/ping/format/1 HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    // One answer, then the connection is closed while the client keeps it open and silent.
    let answer = read_until_closed(&mut idle).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("true"), "{answer}");
}
