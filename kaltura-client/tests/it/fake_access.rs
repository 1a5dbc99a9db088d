//! What USER sessions may see on the fake: `eventId` / `resourceId` / `virtualeventid`
//! privileges scope schedule and virtual-event reads, `setrole` is validated.

use kaltura_client::ks::{KsBuilder, Privileges, SessionType};
use serde_json::{Value, json};

use crate::fake_support::{ADMIN_SECRET, Api, assert_error};

fn user_ks(api: &Api, privileges: &str) -> String {
    let builder = KsBuilder::new(api.fake.partner_id())
        .session_type(SessionType::User)
        .user_id("member")
        .privileges(privileges.parse::<Privileges>().unwrap());
    api.fake.sign(&builder).unwrap().expose_secret().to_owned()
}

/// Two rooms, each with one event linked, plus an unlinked event.
async fn two_rooms(api: &Api) -> [i64; 5] {
    let mut ids = Vec::new();
    for name in ["A", "B"] {
        let room = api
            .admin(
                "schedule_scheduleresource",
                "add",
                json!({"scheduleResource": {"name": name}}),
            )
            .await;
        let event = api
            .admin(
                "schedule_scheduleevent",
                "add",
                json!({"scheduleEvent": {"summary": name, "startDate": 1, "endDate": 2}}),
            )
            .await;
        let link = api
            .admin("schedule_scheduleeventresource", "add", json!({"scheduleEventResource": {"eventId": event["id"], "resourceId": room["id"]}}))
            .await;
        assert_eq!(link["objectType"], "KalturaScheduleEventResource", "{link}");
        ids.push(room["id"].as_i64().unwrap());
        ids.push(event["id"].as_i64().unwrap());
    }
    let lone = api
        .admin(
            "schedule_scheduleevent",
            "add",
            json!({"scheduleEvent": {"summary": "lone", "startDate": 1, "endDate": 2}}),
        )
        .await;
    ids.push(lone["id"].as_i64().unwrap());
    [ids[0], ids[1], ids[2], ids[3], ids[4]]
}

async fn as_user(api: &Api, ks: &str, service: &str, action: &str, mut params: Value) -> Value {
    params["ks"] = json!(ks);
    api.call(service, action, params).await
}

fn ids(list: &Value) -> Vec<i64> {
    list["objects"]
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|o| o["id"].as_i64().or_else(|| o["eventId"].as_i64()).unwrap())
        .collect()
}

#[tokio::test]
async fn event_id_privilege_scopes_schedule_reads() {
    let api = Api::start().await;
    let [room_a, event_a, room_b, event_b, lone] = two_rooms(&api).await;
    let ks = user_ks(
        &api,
        &format!("eventId:{event_a},role:viewerRole,userContextualRole:3"),
    );

    let v = as_user(
        &api,
        &ks,
        "schedule_scheduleevent",
        "get",
        json!({"scheduleEventId": event_a}),
    )
    .await;
    assert_eq!(v["id"], event_a, "{v}");
    for other in [event_b, lone] {
        let v = as_user(
            &api,
            &ks,
            "schedule_scheduleevent",
            "get",
            json!({"scheduleEventId": other}),
        )
        .await;
        assert_error(
            &v,
            "SCHEDULE_EVENT_ID_NOT_FOUND",
            &format!("Schedule Event id [{other}] not found"),
            json!({"ID": other.to_string()}),
        );
    }
    let v = as_user(&api, &ks, "schedule_scheduleevent", "list", json!({})).await;
    assert_eq!(
        (ids(&v), v["totalCount"].clone()),
        (vec![event_a], json!(1))
    );
    // The room of that event, and only it.
    let v = as_user(
        &api,
        &ks,
        "schedule_scheduleresource",
        "get",
        json!({"scheduleResourceId": room_a}),
    )
    .await;
    assert_eq!(v["id"], room_a, "{v}");
    let v = as_user(
        &api,
        &ks,
        "schedule_scheduleresource",
        "get",
        json!({"scheduleResourceId": room_b}),
    )
    .await;
    assert_eq!(v["code"], "SCHEDULE_RESOURCE_ID_NOT_FOUND", "{v}");
    let v = as_user(&api, &ks, "schedule_scheduleresource", "list", json!({})).await;
    assert_eq!(ids(&v), vec![room_a]);
    let v = as_user(
        &api,
        &ks,
        "schedule_scheduleeventresource",
        "list",
        json!({}),
    )
    .await;
    assert_eq!(ids(&v), vec![event_a]);
    // The admin still sees everything.
    let v = api.admin("schedule_scheduleevent", "list", json!({})).await;
    assert_eq!(ids(&v), vec![event_a, event_b, lone]);
}

#[tokio::test]
async fn resource_id_privilege_scopes_to_the_room_and_its_events() {
    let api = Api::start().await;
    let [room_a, event_a, room_b, event_b, _lone] = two_rooms(&api).await;
    let ks = user_ks(&api, &format!("resourceId:{room_b}"));
    let v = as_user(&api, &ks, "schedule_scheduleevent", "list", json!({})).await;
    assert_eq!(ids(&v), vec![event_b]);
    let v = as_user(
        &api,
        &ks,
        "schedule_scheduleevent",
        "get",
        json!({"scheduleEventId": event_a}),
    )
    .await;
    assert_eq!(v["code"], "SCHEDULE_EVENT_ID_NOT_FOUND", "{v}");
    let v = as_user(&api, &ks, "schedule_scheduleresource", "list", json!({})).await;
    assert_eq!(ids(&v), vec![room_b]);
    let v = as_user(
        &api,
        &ks,
        "schedule_scheduleresource",
        "get",
        json!({"scheduleResourceId": room_a}),
    )
    .await;
    assert_eq!(v["code"], "SCHEDULE_RESOURCE_ID_NOT_FOUND", "{v}");
}

#[tokio::test]
async fn unscoped_and_malformed_scopes() {
    let api = Api::start().await;
    let [_, event_a, _, event_b, lone] = two_rooms(&api).await;
    // A USER session without a scoping privilege reads the partner's events, as on Kaltura.
    let ks = user_ks(&api, "privacycontext:x");
    let v = as_user(&api, &ks, "schedule_scheduleevent", "list", json!({})).await;
    assert_eq!(ids(&v), vec![event_a, event_b, lone]);
    // A scope that names no id allows nothing.
    let ks = user_ks(&api, "eventId:abc");
    let v = as_user(&api, &ks, "schedule_scheduleevent", "list", json!({})).await;
    assert_eq!(v["totalCount"], 0, "{v}");
    // An ADMIN session ignores scoping privileges.
    let builder = KsBuilder::new(api.fake.partner_id())
        .session_type(SessionType::Admin)
        .privileges(format!("eventId:{event_a}").parse::<Privileges>().unwrap());
    let ks = api.fake.sign(&builder).unwrap().expose_secret().to_owned();
    let v = as_user(
        &api,
        &ks,
        "schedule_scheduleevent",
        "get",
        json!({"scheduleEventId": event_b}),
    )
    .await;
    assert_eq!(v["id"], event_b, "{v}");
}

#[tokio::test]
async fn virtual_event_privilege_scopes_virtual_events() {
    let api = Api::start().await;
    let one = api
        .admin(
            "virtualevent_virtualevent",
            "add",
            json!({"virtualEvent": {"name": "one"}}),
        )
        .await;
    let two = api
        .admin(
            "virtualevent_virtualevent",
            "add",
            json!({"virtualEvent": {"name": "two"}}),
        )
        .await;
    let ks = user_ks(&api, &format!("virtualeventid:{}", one["id"]));
    let v = as_user(
        &api,
        &ks,
        "virtualevent_virtualevent",
        "get",
        json!({"id": one["id"]}),
    )
    .await;
    assert_eq!(v["name"], "one", "{v}");
    let v = as_user(
        &api,
        &ks,
        "virtualevent_virtualevent",
        "get",
        json!({"id": two["id"]}),
    )
    .await;
    assert_eq!(v["code"], "VIRTUAL_EVENT_NOT_FOUND", "{v}");
    let v = as_user(&api, &ks, "virtualevent_virtualevent", "list", json!({})).await;
    assert_eq!(ids(&v), vec![one["id"].as_i64().unwrap()]);
}

#[tokio::test]
async fn setrole_must_name_a_known_role() {
    let api = Api::start().await;
    let start = |privileges: &str| {
        api.call(
            "session",
            "start",
            json!({"secret": ADMIN_SECRET, "partnerId": 12345, "type": 0, "userId": "u", "privileges": privileges}),
        )
    };
    let v = start("setrole:NO_SUCH_ROLE").await;
    assert_error(&v, "UNKNOWN_ROLE_ID", "Unknown role id", json!([]));
    let v = start("setrole").await;
    assert_eq!(v["code"], "UNKNOWN_ROLE_ID", "{v}");
    let v = start("setrole:PLAYBACK_BASE_ROLE,sview:0_abc").await;
    assert!(v.as_str().is_some_and(|ks| ks.starts_with("djJ8")), "{v}");
}
