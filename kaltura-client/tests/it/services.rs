//! Typed services: request snapshots (no server), wiremock round trips with realistic
//! fixtures, the paginator, and round trips against the fake Kaltura server.
//!
//! This file covers `media`, `baseEntry` and the paginator; the other services live in the
//! `services_*` modules and share the helpers below.

use futures_util::TryStreamExt as _;
use kaltura_client::fake::FakeKaltura;
use kaltura_client::pagination::Paginator;
use kaltura_client::services::base_entry::{GetBaseEntryRequest, ListBaseEntriesRequest};
use kaltura_client::services::media::{
    AddMediaRequest, DeleteMediaRequest, GetMediaRequest, ListMediaRequest, UpdateMediaRequest,
};
use kaltura_client::types::{
    BaseEntryFilter, EntryOrderBy, EntryStatus, EntryType, MediaEntryFilter, MediaEntryInput,
    MediaType, ModerationStatus, Pager, SourceType,
};
use kaltura_client::{CategoryId, Client, KalturaRequest, RetryPolicy};
use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, method, path};
use wiremock::{Mock, MockServer};

use crate::client_support::{admin_client, bodies, json, snapshot_settings};

/// What a request sends, for snapshots: service, action, read-only flag and parameters.
pub(crate) fn wire<R: KalturaRequest>(request: &R) -> Value {
    json!({
        "service": request.service(),
        "action": request.action(),
        "readOnly": request.is_read_only(),
        "needsKs": request.needs_ks(),
        "params": Value::Object(request.params().unwrap()),
    })
}

/// Snapshots what `request` sends under `name`.
pub(crate) fn snapshot<R: KalturaRequest>(name: &str, request: &R) {
    snapshot_settings().bind(|| insta::assert_json_snapshot!(name, wire(request)));
}

/// Mounts `body` as the answer to `service.action` (exactly once per call count `times`
/// if given).
pub(crate) async fn answer(server: &MockServer, service: &str, action: &str, body: Value) {
    Mock::given(method("POST"))
        .and(path(format!("/api_v3/service/{service}/action/{action}")))
        .respond_with(json(body))
        .mount(server)
        .await;
}

/// A client for the fake server, with its admin secret.
pub(crate) fn fake_client(fake: &FakeKaltura) -> Client {
    use secrecy::ExposeSecret as _;
    Client::builder()
        .service_url(fake.url())
        .partner_id(fake.partner_id())
        .admin_secret(fake.admin_secret().expose_secret().to_owned())
        .retry_policy(RetryPolicy::default().base_delay(std::time::Duration::ZERO))
        .build()
        .unwrap()
}

/// A realistic `KalturaMediaEntry` as the real server sends it: mixed int/string scalars,
/// an unknown enum value and an unknown property.
pub(crate) fn entry_fixture(id: &str, name: &str) -> Value {
    let mut entry = json!({
        "mediaType": 1,
        "conversionQuality": 1,
        "sourceType": "1",
        "dataUrl": format!("https://cdnapisec.kaltura.com/p/12345/sp/1234500/playManifest/entryId/{id}/format/url/protocol/https"),
        "flavorParamsIds": "0,487041,487051",
        "plays": 12,
        "views": "40",
        "lastPlayedAt": 1700000500,
        "width": 1280,
        "height": 720,
        "duration": 61,
        "msDuration": 61200,
        "id": id,
        "name": name,
        "description": "A cat",
        "partnerId": 12345,
        "userId": "discord_42",
        "creatorId": "discord_42",
        "tags": "cats, funny",
        "categories": "MediaSpace>site>galleries>Cats",
        "categoriesIds": "101",
    });
    let more = json!({
        "status": 2,
        "moderationStatus": 6,
        "moderationCount": 0,
        "type": 1,
        "createdAt": 1700000000,
        "updatedAt": 1700000100,
        "rank": 0,
        "totalRank": 0,
        "votes": 0,
        "downloadUrl": format!("https://cdnapisec.kaltura.com/p/12345/sp/1234500/playManifest/entryId/{id}/format/download/protocol/https/flavorParamIds/0"),
        "searchText": "_PAR_ONLY_ _12345_ _MEDIA_TYPE_1|  Cats",
        "licenseType": -1,
        "version": 0,
        "thumbnailUrl": format!("https://cfvod.kaltura.com/p/12345/sp/1234500/thumbnail/entry_id/{id}/version/100002"),
        "accessControlId": 1,
        "replacementStatus": 0,
        "partnerSortValue": 0,
        "rootEntryId": id,
        "entitledUsersEdit": "",
        "capabilities": "",
        "displayInSearch": 1,
        "objectType": "KalturaMediaEntry"
    });
    if let (Some(e), Value::Object(m)) = (entry.as_object_mut(), more) {
        e.extend(m);
    }
    entry
}

// --- snapshots ---------------------------------------------------------------------------

#[test]
fn media_request_snapshots() {
    let mut get = GetMediaRequest::new("0_abc123");
    snapshot("media_get", &get);
    get.version = Some(2);
    snapshot("media_get_version", &get);

    let mut list = ListMediaRequest::new(
        MediaEntryFilter::new()
            .id_equal("0_a")
            .id_in(["0_a", "0_b"])
            .name_like("cat")
            .tags_like("funny")
            .tags_multi_like_or("cats,dogs")
            .categories_ids_match_or([CategoryId::new(101), CategoryId::new(102)])
            .user_id_equal("discord_42")
            .status_equal(EntryStatus::Ready)
            .status_in([EntryStatus::Ready, EntryStatus::Pending])
            .media_type_equal(MediaType::Video)
            .created_at_greater_than_or_equal(1_700_000_000)
            .free_text("kitten")
            .order_by(EntryOrderBy::PlaysDesc),
    );
    list.pager = Some(Pager::new(50).page(2));
    snapshot("media_list", &list);
    snapshot("media_list_default", &ListMediaRequest::default());

    let add = AddMediaRequest::new(
        MediaEntryInput::new()
            .name("Cats")
            .description("A cat")
            .tags("cats,funny")
            .categories("Cats")
            .categories_ids([CategoryId::new(101)])
            .media_type(MediaType::Video)
            .reference_id("discord:msg:1"),
    );
    snapshot("media_add", &add);

    let update = UpdateMediaRequest::new("0_abc123", MediaEntryInput::new().name("Renamed"));
    snapshot("media_update", &update);
    snapshot("media_delete", &DeleteMediaRequest::new("0_abc123"));
}

#[test]
fn base_entry_request_snapshots() {
    snapshot("base_entry_get", &GetBaseEntryRequest::new("0_abc123"));
    let mut list = ListBaseEntriesRequest::new(
        BaseEntryFilter::new()
            .type_equal(EntryType::Playlist)
            .name_like("best")
            .order_by(EntryOrderBy::NameAsc),
    );
    list.pager = Some(Pager::new(10));
    snapshot("base_entry_list", &list);
}

#[tokio::test]
async fn builders_build_the_same_requests() {
    let server = MockServer::start().await;
    let client = admin_client(&server);
    let built = client
        .media()
        .update("0_x")
        .name("n")
        .tags("a,b")
        .into_request();
    assert_eq!(
        built,
        UpdateMediaRequest::new("0_x", MediaEntryInput::new().name("n").tags("a,b"))
    );
    let add = client
        .media()
        .add("Cats", MediaType::Audio)
        .reference_id("r")
        .into_request();
    assert_eq!(
        add.entry,
        MediaEntryInput::new()
            .name("Cats")
            .media_type(MediaType::Audio)
            .reference_id("r")
    );
    let list = client
        .media()
        .list()
        .filter(MediaEntryFilter::new().name_like("x"))
        .page_size(1000)
        .page_index(3)
        .into_request();
    assert_eq!(list.pager, Some(Pager::new(500).page(3)));
}

// --- wiremock round trips ----------------------------------------------------------------

#[tokio::test]
async fn media_get_round_trip_decodes_a_realistic_entry() {
    let server = MockServer::start().await;
    let mut fixture = entry_fixture("0_abc123", "Cats");
    fixture["status"] = json!("infra.NEW_STATUS");
    fixture["moderationStatus"] = json!(42);
    answer(&server, "media", "get", fixture).await;
    let client = admin_client(&server);

    let entry = client.media().get("0_abc123").await.unwrap();

    assert_eq!(entry.id.as_str(), "0_abc123");
    assert_eq!(entry.name.as_deref(), Some("Cats"));
    assert_eq!(
        entry.status,
        Some(EntryStatus::Unknown("infra.NEW_STATUS".into()))
    );
    assert_eq!(entry.moderation_status, Some(ModerationStatus::Unknown(42)));
    assert_eq!(entry.source_type, Some(SourceType::File));
    assert_eq!(entry.entry_type, Some(EntryType::MediaClip));
    assert_eq!(entry.views, Some(40));
    assert_eq!(entry.ms_duration, Some(61_200));
    assert_eq!(entry.extra["displayInSearch"], 1);
    let sent = bodies(&server).await;
    assert_eq!(sent[0]["entryId"], "0_abc123");
    assert_eq!(sent[0]["format"], 1);
    assert!(sent[0]["ks"].is_string());
}

#[tokio::test]
async fn media_list_add_update_delete_round_trips() {
    let server = MockServer::start().await;
    answer(
        &server,
        "media",
        "list",
        json!({"objects": [entry_fixture("0_a", "A"), entry_fixture("0_b", "B")],
               "totalCount": "2", "objectType": "KalturaMediaListResponse"}),
    )
    .await;
    answer(&server, "media", "add", entry_fixture("0_new", "New")).await;
    answer(
        &server,
        "media",
        "update",
        entry_fixture("0_new", "Renamed"),
    )
    .await;
    answer(&server, "media", "delete", Value::Null).await;
    let client = admin_client(&server);

    let list = client
        .media()
        .list()
        .filter(MediaEntryFilter::new().tags_like("cats"))
        .send()
        .await
        .unwrap();
    assert_eq!(list.total_count, 2);
    assert_eq!(list.objects[1].id.as_str(), "0_b");

    let added = client
        .media()
        .add("New", MediaType::Video)
        .send()
        .await
        .unwrap();
    assert_eq!(added.id.as_str(), "0_new");
    let updated = client
        .media()
        .update("0_new")
        .name("Renamed")
        .send()
        .await
        .unwrap();
    assert_eq!(updated.name.as_deref(), Some("Renamed"));
    client.media().delete("0_new").await.unwrap();

    let sent = bodies(&server).await;
    assert_eq!(
        sent[0]["filter"],
        json!({"tagsLike": "cats", "objectType": "KalturaMediaEntryFilter"})
    );
    assert_eq!(
        sent[1]["entry"],
        json!({"name": "New", "mediaType": 1, "objectType": "KalturaMediaEntry"})
    );
    assert_eq!(
        sent[2]["mediaEntry"],
        json!({"name": "Renamed", "objectType": "KalturaMediaEntry"})
    );
    assert_eq!(sent[3]["entryId"], "0_new");
}

#[tokio::test]
async fn base_entry_list_round_trip() {
    let server = MockServer::start().await;
    answer(
        &server,
        "baseEntry",
        "list",
        json!({"objects": [
                {"id": "0_pl", "name": "Playlist", "type": 5, "objectType": "KalturaPlaylist",
                 "playlistType": 3},
                entry_fixture("0_a", "A")],
               "totalCount": 2, "objectType": "KalturaBaseEntryListResponse"}),
    )
    .await;
    let client = admin_client(&server);

    let list = client.base_entry().list().send().await.unwrap();

    assert_eq!(list.objects[0].entry_type, Some(EntryType::Playlist));
    assert_eq!(list.objects[0].media_type, None);
    assert_eq!(list.objects[0].extra["playlistType"], 3);
    assert_eq!(list.objects[1].media_type, Some(MediaType::Video));
}

// --- paginator ---------------------------------------------------------------------------

/// A list response with entries `ids` and `total`.
fn page_of(ids: &[&str], total: i64) -> Value {
    let objects: Vec<Value> = ids.iter().map(|id| entry_fixture(id, id)).collect();
    json!({"objects": objects, "totalCount": total, "objectType": "KalturaMediaListResponse"})
}

/// Answers `media.list` page `index` with `body`.
async fn answer_page(server: &MockServer, index: u32, body: Value) {
    Mock::given(method("POST"))
        .and(path("/api_v3/service/media/action/list"))
        .and(body_partial_json(json!({"pager": {"pageIndex": index}})))
        .respond_with(json(body))
        .mount(server)
        .await;
}

#[tokio::test]
async fn paginator_stops_at_total_count_and_keeps_the_filter() {
    let server = MockServer::start().await;
    answer_page(&server, 1, page_of(&["0_1", "0_2"], 4)).await;
    answer_page(&server, 2, page_of(&["0_3", "0_4"], 4)).await;
    // A third page would be a bug: make it loud.
    answer_page(
        &server,
        3,
        json!({"code": "UNEXPECTED", "message": "page 3"}),
    )
    .await;
    let client = admin_client(&server);

    let mut pages = client
        .media()
        .list()
        .filter(
            MediaEntryFilter::new()
                .tags_like("cats")
                .order_by(EntryOrderBy::NameAsc),
        )
        .page_size(2)
        .paginate();
    let first = pages.next_page().await.unwrap().unwrap();
    assert_eq!(first.len(), 2);
    assert_eq!(pages.total_count(), Some(4));
    let second = pages.next_page().await.unwrap().unwrap();
    assert_eq!(second[1].id.as_str(), "0_4");
    assert!(pages.is_done());
    assert!(pages.next_page().await.unwrap().is_none());

    let sent = bodies(&server).await;
    assert_eq!(sent.len(), 2);
    for (i, body) in sent.iter().enumerate() {
        assert_eq!(
            body["filter"],
            json!({"tagsLike": "cats", "orderBy": "+name", "objectType": "KalturaMediaEntryFilter"}),
            "filter of page {}",
            i + 1
        );
        assert_eq!(
            body["pager"],
            json!({"pageSize": 2, "pageIndex": i + 1, "objectType": "KalturaFilterPager"})
        );
    }
}

#[tokio::test]
async fn paginator_stops_on_a_short_page() {
    let server = MockServer::start().await;
    // totalCount claims more, but page 2 is short: it is the last one.
    answer_page(&server, 1, page_of(&["0_1", "0_2"], 100)).await;
    answer_page(&server, 2, page_of(&["0_3"], 100)).await;
    let client = admin_client(&server);

    let all = client
        .media()
        .list()
        .page_size(2)
        .paginate()
        .collect_all()
        .await
        .unwrap();

    let ids: Vec<&str> = all.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["0_1", "0_2", "0_3"]);
    assert_eq!(bodies(&server).await.len(), 2);
}

#[tokio::test]
async fn paginator_stops_when_the_server_repeats_a_page() {
    let server = MockServer::start().await;
    // A server that ignores pageIndex: always the same full page.
    answer(&server, "media", "list", page_of(&["0_1", "0_2"], 0)).await;
    let client = admin_client(&server);

    let items: Vec<_> = client
        .media()
        .list()
        .page_size(2)
        .paginate()
        .into_stream()
        .try_collect()
        .await
        .unwrap();

    assert_eq!(items.len(), 2, "the repeated page is not yielded");
    assert_eq!(bodies(&server).await.len(), 2);
}

#[tokio::test]
async fn paginator_on_an_empty_first_page_yields_nothing() {
    let server = MockServer::start().await;
    answer(
        &server,
        "media",
        "list",
        json!({"objects": [], "totalCount": 0, "objectType": "KalturaMediaListResponse"}),
    )
    .await;
    let client = admin_client(&server);

    let mut pages = client.media().list().paginate();
    assert!(pages.next_page().await.unwrap().is_none());
    assert!(pages.is_done());
    assert_eq!(pages.total_count(), Some(0));
    let stream: Vec<_> = Paginator::new(&client, ListMediaRequest::default())
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    assert!(stream.is_empty());
    assert_eq!(bodies(&server).await.len(), 2);
}

#[tokio::test]
async fn paginator_stream_ends_on_the_first_error_and_can_retry_a_page() {
    let server = MockServer::start().await;
    answer_page(&server, 1, page_of(&["0_1"], 3)).await;
    answer_page(
        &server,
        2,
        json!({"code": "SERVICE_FORBIDDEN", "message": "forbidden", "objectType": "KalturaAPIException",
               "args": {}}),
    )
    .await;
    let client = admin_client(&server);

    let results: Vec<_> = client
        .media()
        .list()
        .page_size(1)
        .paginate()
        .into_stream()
        .collect_results()
        .await;
    assert_eq!(results.len(), 2);
    assert_eq!(results[0].as_ref().map(|e| e.id.as_str()).ok(), Some("0_1"));
    assert_eq!(
        results[1].as_ref().err().and_then(|e| e.api_code()),
        Some(&kaltura_client::ErrorCode::ServiceForbidden)
    );

    // next_page leaves the paginator on the failed page.
    let mut pages = client.media().list().page_size(1).page_index(2).paginate();
    assert!(pages.next_page().await.is_err());
    assert_eq!(pages.next_page_index(), 2);
    assert!(!pages.is_done());
}

#[tokio::test]
async fn paginator_does_not_trust_a_zero_total() {
    let server = MockServer::start().await;
    answer_page(&server, 1, page_of(&["0_1", "0_2"], 0)).await;
    answer_page(&server, 2, page_of(&["0_3"], 0)).await;
    let client = admin_client(&server);

    let all = client
        .media()
        .list()
        .page_size(2)
        .paginate()
        .collect_all()
        .await
        .unwrap();
    assert_eq!(all.len(), 3);
}

/// Collects a stream of results without stopping at the first error.
trait CollectResults: futures_util::Stream + Sized {
    async fn collect_results(self) -> Vec<Self::Item> {
        use futures_util::StreamExt as _;
        self.collect().await
    }
}

impl<S: futures_util::Stream> CollectResults for S {}

// --- fake server round trips -------------------------------------------------------------

#[tokio::test]
async fn fake_media_add_get_update_list_delete() {
    let fake = FakeKaltura::start().await;
    let client = fake_client(&fake);

    let added = client
        .media()
        .add("Fake cats", MediaType::Video)
        .description("on the fake")
        .tags("cats,fake")
        .reference_id("discord:1")
        .send()
        .await
        .unwrap();
    assert_eq!(added.name.as_deref(), Some("Fake cats"));
    assert_eq!(added.status, Some(EntryStatus::NoContent));
    assert_eq!(added.media_type, Some(MediaType::Video));

    let got = client.media().get(added.id.clone()).await.unwrap();
    assert_eq!(got.reference_id.as_deref(), Some("discord:1"));

    let updated = client
        .media()
        .update(added.id.clone())
        .name("Renamed cats")
        .send()
        .await
        .unwrap();
    assert_eq!(updated.name.as_deref(), Some("Renamed cats"));
    assert_eq!(
        updated.description.as_deref(),
        Some("on the fake"),
        "unchanged"
    );

    let list = client
        .media()
        .list()
        .filter(
            MediaEntryFilter::new()
                .reference_id_equal("discord:1")
                .status_in([EntryStatus::NoContent]),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(list.total_count, 1);
    assert_eq!(list.objects[0].id, added.id);

    client.media().delete(added.id.clone()).await.unwrap();
    let err = client.media().get(added.id.clone()).await.unwrap_err();
    assert_eq!(
        err.api_code(),
        Some(&kaltura_client::ErrorCode::EntryIdNotFound)
    );
}

#[tokio::test]
async fn fake_paginates_demo_entries() {
    let fake = FakeKaltura::builder()
        .seed_demo_data(true)
        .start()
        .await
        .unwrap();
    let client = fake_client(&fake);

    let all = client
        .base_entry()
        .list()
        .filter(BaseEntryFilter::new().order_by(EntryOrderBy::NameAsc))
        .page_size(7)
        .paginate()
        .collect_all()
        .await
        .unwrap();
    let total = client.base_entry().list().send().await.unwrap().total_count;
    assert_eq!(all.len() as i64, total);
    let mut ids: Vec<_> = all.iter().map(|e| e.id.clone()).collect();
    ids.dedup();
    assert_eq!(ids.len(), all.len(), "no entry twice");
    let one = client.base_entry().get(all[3].id.clone()).await.unwrap();
    assert_eq!(one.name, all[3].name);
    assert_eq!(
        client
            .base_entry()
            .get("0_nope")
            .await
            .unwrap_err()
            .api_code(),
        Some(&kaltura_client::ErrorCode::EntryIdNotFound)
    );
}

#[tokio::test]
async fn typed_requests_work_in_a_multirequest() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api_v3/service/multirequest"))
        .respond_with(json(json!([
            entry_fixture("0_a", "A"),
            {"code": "ENTRY_ID_NOT_FOUND", "message": "Entry id \"0_nope\" not found",
             "objectType": "KalturaAPIException", "args": {"ENTRY_ID": "0_nope"}},
        ])))
        .mount(&server)
        .await;
    let client = admin_client(&server);

    let mut batch = client.multirequest();
    let found = batch.add(client.media().list().page_size(1).into_request());
    let missing = batch.add(GetMediaRequest::new("0_nope"));
    let response = batch.send().await.unwrap();

    // `media.list` decodes as a list: the fixture is an entry, so this call fails to decode
    // (instead of passing for an empty page), while the API error of the second call is
    // reported as such.
    let err = response.get(&found).unwrap_err();
    assert!(err.api_code().is_none(), "{err}");
    assert_eq!(
        response.get(&missing).unwrap_err().api_code(),
        Some(&kaltura_client::ErrorCode::EntryIdNotFound)
    );
    let sent = bodies(&server).await;
    assert_eq!(sent[0]["0"]["service"], "media");
    assert_eq!(sent[0]["0"]["pager"]["objectType"], "KalturaFilterPager");
    assert_eq!(sent[0]["1"]["entryId"], "0_nope");
}
