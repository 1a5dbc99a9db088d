//! Typed services `elasticsearch_esearch`, `user` and `category`: request snapshots,
//! wiremock round trips and round trips against the fake server.

use kaltura_client::fake::FakeKaltura;
use kaltura_client::services::category::{GetCategoryRequest, ListCategoriesRequest};
use kaltura_client::services::esearch::SearchEntriesRequest;
use kaltura_client::services::user::{
    AddUserRequest, DeleteUserRequest, GetUserRequest, ListUsersRequest, UpdateUserRequest,
};
use kaltura_client::types::category::{CategoryFilter, CategoryOrderBy, CategoryStatus};
use kaltura_client::types::esearch::{
    ESearchEntryFieldName, ESearchEntryItem, ESearchEntryOrderByField, ESearchEntryParams,
    ESearchItemType, ESearchOperator, ESearchRange, ESearchSortOrder, ESearchUnifiedItem,
};
use kaltura_client::types::user::{UserFilter, UserInput, UserOrderBy, UserStatus, UserType};
use kaltura_client::types::{EntryStatus, Pager};
use kaltura_client::{CategoryId, UserId};
use serde_json::{Value, json};
use wiremock::MockServer;

use crate::client_support::{admin_client, bodies};
use crate::services::{answer, entry_fixture, fake_client, snapshot};

// --- eSearch -----------------------------------------------------------------------------

#[test]
fn esearch_request_snapshots() {
    let mut params = ESearchEntryParams::new(ESearchOperator::and([
        ESearchUnifiedItem::new("cats").highlight(true).into(),
        ESearchOperator::or([
            ESearchEntryItem::new(ESearchEntryFieldName::Tags, "funny")
                .exact()
                .into(),
            ESearchEntryItem::new(ESearchEntryFieldName::Name, "Fun")
                .starts_with()
                .into(),
        ])
        .into(),
        ESearchOperator::not([ESearchEntryItem::exists(ESearchEntryFieldName::ReferenceId).into()])
            .into(),
        ESearchEntryItem::range(
            ESearchEntryFieldName::CreatedAt,
            ESearchRange::new()
                .greater_than_or_equal(1_700_000_000)
                .less_than(1_800_000_000),
        )
        .into(),
        ESearchEntryItem::new(
            ESearchEntryFieldName::Unknown("captions_content".into()),
            "x",
        )
        .item_type(ESearchItemType::Unknown(9))
        .into(),
    ]));
    params.order_by = Some(Default::default());
    params.object_statuses = Some(vec![EntryStatus::Ready]);
    params.object_ids = Some(vec!["0_a".into(), "0_b".into()]);
    let mut request = SearchEntriesRequest::new(params);
    request.pager = Some(Pager::new(5).page(2));
    snapshot("esearch_search_entry_tree", &request);
}

#[tokio::test]
async fn esearch_builder_matches_the_node_client_capture() {
    // The body the official Node.js client sent for the same search (reference §1).
    let server = MockServer::start().await;
    let client = admin_client(&server);
    let request = client
        .esearch()
        .search_entries()
        .unified("cats")
        .order_by(ESearchEntryOrderByField::CreatedAt, ESearchSortOrder::Desc)
        .page_size(5)
        .into_request();
    snapshot("esearch_search_entry_builder", &request);
    let params = Value::Object(kaltura_client::KalturaRequest::params(&request).unwrap());
    assert_eq!(
        params,
        json!({"searchParams":{"searchOperator":{"operator":1,"searchItems":[{"searchTerm":"cats","itemType":2,"objectType":"KalturaESearchUnifiedItem"}],"objectType":"KalturaESearchEntryOperator"},"orderBy":{"orderItems":[{"sortField":"created_at","sortOrder":"desc","objectType":"KalturaESearchEntryOrderByItem"}],"objectType":"KalturaESearchOrderBy"},"objectType":"KalturaESearchEntryParams"},"pager":{"pageSize":5,"pageIndex":1,"objectType":"KalturaPager"}})
    );
    let highlighted = client
        .esearch()
        .search_entries()
        .unified("cats")
        .item(ESearchOperator::or([ESearchEntryItem::new(
            ESearchEntryFieldName::Tags,
            "funny",
        )
        .into()]))
        .highlight(true)
        .into_request();
    let params = kaltura_client::KalturaRequest::params(&highlighted).unwrap();
    let items = &params["searchParams"]["searchOperator"]["searchItems"];
    assert_eq!(items[0]["addHighlight"], true);
    assert_eq!(items[1]["searchItems"][0]["addHighlight"], true);
}

#[tokio::test]
async fn esearch_round_trip_decodes_results_and_highlights() {
    let server = MockServer::start().await;
    let mut playlist = entry_fixture("0_b", "Cats playlist");
    playlist["type"] = json!("5");
    playlist["objectType"] = json!("KalturaPlaylist");
    answer(
        &server,
        "elasticsearch_esearch",
        "searchEntry",
        json!({
            "objects": [
                {"object": entry_fixture("0_a", "Funny cats"),
                 "highlight": [{"fieldName": "name", "hits": [{"value": "Funny <em>cats</em>", "objectType": "KalturaString"}],
                                "objectType": "KalturaESearchHighlight"}],
                 "itemsData": [{"totalCount": "1", "items": [{"line": "the <em>cats</em> meow", "startsAt": 1000,
                                "objectType": "KalturaESearchCaptionItemData"}], "itemsType": "caption",
                                "objectType": "KalturaESearchEntryItemsData"}],
                 "objectType": "KalturaESearchEntryResult"},
                {"object": playlist, "objectType": "KalturaESearchEntryResult"}
            ],
            "totalCount": "2",
            "aggregations": [],
            "objectType": "KalturaESearchEntryResponse"
        }),
    )
    .await;
    let client = admin_client(&server);

    let found = client
        .esearch()
        .search_entries()
        .unified("cats")
        .highlight(true)
        .send()
        .await
        .unwrap();

    assert_eq!(found.total_count, 2);
    assert_eq!(found.objects[0].highlight[0].field_name, "name");
    assert_eq!(found.objects[0].highlight[0].hits, ["Funny <em>cats</em>"]);
    assert_eq!(found.objects[0].items_data[0].total_count, Some(1));
    assert!(found.objects[1].highlight.is_empty());
    assert_eq!(
        found.objects[1].object.object_type.as_deref(),
        Some("KalturaPlaylist")
    );
    let sent = bodies(&server).await;
    assert_eq!(
        sent[0]["searchParams"]["objectType"],
        "KalturaESearchEntryParams"
    );
}

#[tokio::test]
async fn fake_esearch_pages_through_demo_data() {
    let fake = FakeKaltura::builder()
        .seed_demo_data(true)
        .start()
        .await
        .unwrap();
    let client = fake_client(&fake);

    let first = client
        .esearch()
        .search_entries()
        .unified("rust")
        .page_size(2)
        .send()
        .await
        .unwrap();
    assert!(first.total_count > 2, "total {}", first.total_count);

    let all = client
        .esearch()
        .search_entries()
        .unified("rust")
        .highlight(true)
        .order_by(ESearchEntryOrderByField::CreatedAt, ESearchSortOrder::Asc)
        .page_size(2)
        .paginate()
        .collect_all()
        .await
        .unwrap();
    assert_eq!(all.len() as i64, first.total_count);
    let created: Vec<i64> = all
        .iter()
        .map(|r| r.object.created_at.unwrap().as_secs())
        .collect();
    let mut sorted = created.clone();
    sorted.sort_unstable();
    assert_eq!(created, sorted, "order kept across pages");
    for result in &all {
        let text = format!(
            "{} {} {}",
            result.object.name.as_deref().unwrap_or_default(),
            result.object.description.as_deref().unwrap_or_default(),
            result.object.tags.as_deref().unwrap_or_default()
        )
        .to_lowercase();
        assert!(text.contains("rust"), "{text}");
    }
    assert!(all.iter().any(|r| !r.highlight.is_empty()));

    let none = client
        .esearch()
        .search_entries()
        .search(ESearchOperator::and([ESearchEntryItem::new(
            ESearchEntryFieldName::Tags,
            "no-such-tag",
        )
        .exact()
        .into()]))
        .paginate()
        .collect_all()
        .await
        .unwrap();
    assert!(none.is_empty());
}

// --- user --------------------------------------------------------------------------------

#[test]
fn user_request_snapshots() {
    snapshot("user_get", &GetUserRequest::new("discord_42"));
    snapshot(
        "user_add",
        &AddUserRequest::new(
            UserInput::new()
                .id("discord_42")
                .user_type(UserType::User)
                .screen_name("Ada")
                .first_name("Ada")
                .last_name("Lovelace")
                .email("ada@example.org")
                .is_admin(false),
        ),
    );
    snapshot(
        "user_update",
        &UpdateUserRequest::new("discord_42", UserInput::new().email("new@example.org")),
    );
    snapshot("user_delete", &DeleteUserRequest::new("discord_42"));
    let mut list = ListUsersRequest::new(
        UserFilter::new()
            .id_in(["discord_1", "discord_2"])
            .screen_name_like("Ad")
            .email_like("@example.org")
            .status_equal(UserStatus::Active)
            .is_admin_equal(true)
            .order_by(UserOrderBy::CreatedAtDesc),
    );
    list.pager = Some(Pager::new(100));
    snapshot("user_list", &list);
}

#[tokio::test]
async fn user_get_round_trip_with_unknown_status() {
    let server = MockServer::start().await;
    answer(
        &server,
        "user",
        "get",
        json!({"id": "discord_42", "partnerId": "12345", "type": 0, "screenName": "Ada",
               "fullName": "Ada Lovelace", "firstName": "Ada", "lastName": "Lovelace",
               "email": "ada@example.org", "status": 9, "isAdmin": false, "loginEnabled": "1",
               "createdAt": "1700000000", "updatedAt": 1700000001, "isAccountOwner": false,
               "allowedPartnerIds": "12345", "objectType": "KalturaUser"}),
    )
    .await;
    let client = admin_client(&server);

    let user = client.user().get("discord_42").await.unwrap();

    assert_eq!(user.id, UserId::new("discord_42"));
    assert_eq!(user.status, Some(UserStatus::Unknown(9)));
    assert_eq!(user.user_type, Some(UserType::User));
    assert_eq!(user.login_enabled, Some(true));
    assert_eq!(user.created_at, Some(1_700_000_000.into()));
    assert_eq!(user.extra["allowedPartnerIds"], "12345");
    assert_eq!(bodies(&server).await[0]["userId"], "discord_42");
}

#[tokio::test]
async fn fake_user_add_get_update_duplicate_list_delete() {
    let fake = FakeKaltura::start().await;
    let client = fake_client(&fake);

    let added = client
        .user()
        .add("discord_777")
        .screen_name("Grace")
        .first_name("Grace")
        .last_name("Hopper")
        .email("grace@example.org")
        .send()
        .await
        .unwrap();
    assert_eq!(added.id.as_str(), "discord_777");
    assert_eq!(added.status, Some(UserStatus::Active));

    let got = client.user().get("discord_777").await.unwrap();
    assert_eq!(got.email.as_deref(), Some("grace@example.org"));

    let dup = client.user().add("discord_777").send().await.unwrap_err();
    assert_eq!(
        dup.api_code(),
        Some(&kaltura_client::ErrorCode::DuplicateUserById)
    );

    let updated = client
        .user()
        .update("discord_777")
        .email("hopper@example.org")
        .send()
        .await
        .unwrap();
    assert_eq!(updated.email.as_deref(), Some("hopper@example.org"));
    assert_eq!(updated.first_name.as_deref(), Some("Grace"), "unchanged");

    let list = client
        .user()
        .list()
        .filter(UserFilter::new().id_in(["discord_777"]))
        .send()
        .await
        .unwrap();
    assert_eq!(list.total_count, 1);

    let deleted = client.user().delete("discord_777").await.unwrap();
    assert_eq!(deleted.id.as_str(), "discord_777");
    let gone = client.user().get("discord_777").await.unwrap_err();
    assert_eq!(
        gone.api_code(),
        Some(&kaltura_client::ErrorCode::InvalidUserId)
    );
}

// --- category ----------------------------------------------------------------------------

#[test]
fn category_request_snapshots() {
    snapshot("category_get", &GetCategoryRequest::new(101));
    let mut list = ListCategoriesRequest::new(
        CategoryFilter::new()
            .full_name_starts_with("MediaSpace>site>galleries>")
            .name_or_reference_id_starts_with("Ca")
            .id_in([CategoryId::new(1), CategoryId::new(2)])
            .status_equal(CategoryStatus::Active)
            .order_by(CategoryOrderBy::FullNameAsc),
    );
    list.pager = Some(Pager::new(25));
    snapshot("category_list", &list);
}

#[tokio::test]
async fn category_list_round_trip() {
    let server = MockServer::start().await;
    answer(
        &server,
        "category",
        "list",
        json!({"objects": [{"id": 101, "parentId": "100", "depth": 3, "partnerId": 12345,
                            "name": "Cats", "fullName": "MediaSpace>site>galleries>Cats",
                            "fullIds": "97>98>100>101", "entriesCount": "12", "status": 2,
                            "privacy": 1, "createdAt": 1700000000, "inheritanceType": 2,
                            "objectType": "KalturaCategory"}],
               "totalCount": 1, "objectType": "KalturaCategoryListResponse"}),
    )
    .await;
    let client = admin_client(&server);

    let list = client
        .category()
        .list()
        .filter(CategoryFilter::new().name_or_reference_id_starts_with("Ca"))
        .send()
        .await
        .unwrap();

    let cat = &list.objects[0];
    assert_eq!(cat.id, CategoryId::new(101));
    assert_eq!(cat.parent_id, Some(CategoryId::new(100)));
    assert_eq!(cat.entries_count, Some(12));
    assert_eq!(cat.status, Some(CategoryStatus::Active));
    assert_eq!(cat.extra["inheritanceType"], 2);
    assert_eq!(
        bodies(&server).await[0]["filter"],
        json!({"nameOrReferenceIdStartsWith": "Ca", "objectType": "KalturaCategoryFilter"})
    );
}

#[tokio::test]
async fn fake_category_autocomplete_and_paging() {
    let fake = FakeKaltura::builder()
        .seed_demo_data(true)
        .start()
        .await
        .unwrap();
    let client = fake_client(&fake);

    let all = client
        .category()
        .list()
        .page_size(2)
        .paginate()
        .collect_all()
        .await
        .unwrap();
    assert!(all.len() >= 7, "{}", all.len());

    let first = &all[0];
    let got = client.category().get(first.id).await.unwrap();
    assert_eq!(got.id, first.id);

    let prefix: String = first.name.clone().unwrap().chars().take(2).collect();
    let found = client
        .category()
        .list()
        .filter(CategoryFilter::new().name_or_reference_id_starts_with(prefix.clone()))
        .send()
        .await
        .unwrap();
    assert!(found.objects.iter().any(|c| c.id == first.id));
    assert!(found.objects.iter().all(|c| {
        c.name.as_deref().unwrap_or_default().starts_with(&prefix)
            || c.reference_id
                .as_deref()
                .unwrap_or_default()
                .starts_with(&prefix)
    }));
}
