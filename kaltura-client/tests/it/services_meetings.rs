//! Typed services of the schedule plugin (Kaltura Meetings), virtual events and event
//! notification templates: request snapshots, wiremock round trips, the Meetings flow at
//! the request level, and round trips against the fake server.

use kaltura_client::fake::FakeKaltura;
use kaltura_client::ks::{self, SessionType};
use kaltura_client::services::event_notification::{
    AddTemplateRequest, CloneTemplateRequest, DeleteTemplateRequest, GetTemplateRequest,
    ListTemplatesRequest, UpdateTemplateRequest, UpdateTemplateStatusRequest,
};
use kaltura_client::services::schedule::{
    AddScheduleEventRequest, AddScheduleEventResourceRequest, AddScheduleResourceRequest,
    CancelScheduleEventRequest, DeleteScheduleEventRequest, DeleteScheduleEventResourceRequest,
    DeleteScheduleResourceRequest, GetScheduleEventRequest, GetScheduleResourceRequest,
    ListScheduleEventResourcesRequest, ListScheduleEventsRequest, ListScheduleResourcesRequest,
    UpdateScheduleEventRequest, UpdateScheduleResourceRequest,
};
use kaltura_client::services::virtual_event::{
    AddVirtualEventRequest, DeleteVirtualEventRequest, GetVirtualEventRequest,
    ListVirtualEventsRequest, UpdateVirtualEventRequest,
};
use kaltura_client::types::KeyValue;
use kaltura_client::types::Pager;
use kaltura_client::types::event_notification::{
    EventNotificationEventObjectType, EventNotificationEventType, EventNotificationTemplate,
    EventNotificationTemplateFilter, EventNotificationTemplateStatus, HttpNotificationData,
    HttpNotificationDataText, HttpNotificationMethod, HttpNotificationObjectData,
    HttpNotificationTemplateInput, SecureHashingAlgorithm,
};
use kaltura_client::types::schedule::{
    ClassMode, RecurrenceType, RoomSettings, ScheduleEventFilter, ScheduleEventInput,
    ScheduleEventOrderBy, ScheduleEventResourceFilter, ScheduleEventStatus, ScheduleResourceFilter,
    ScheduleResourceInput, ScheduleResourceStatus,
};
use kaltura_client::types::virtual_event::{
    VirtualEventFilter, VirtualEventInput, VirtualEventStatus,
};
use kaltura_client::urls::{MeetingJoin, MeetingRole, MeetingTarget};
use kaltura_client::{
    EventNotificationTemplateId, PartnerId, ScheduleEventId, ScheduleResourceId, VirtualEventId,
};
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::MockServer;

use crate::client_support::{PARTNER, SECRET, admin_client, bodies};
use crate::services::{answer, fake_client, snapshot};

// --- schedule snapshots ------------------------------------------------------------------

#[test]
fn schedule_resource_request_snapshots() {
    snapshot(
        "schedule_resource_add",
        &AddScheduleResourceRequest::new(
            ScheduleResourceInput::new()
                .name("Discord #general")
                .description("Room of the #general channel")
                .tags("vcprovider:newrow"),
        ),
    );
    snapshot(
        "schedule_resource_get",
        &GetScheduleResourceRequest::new(77),
    );
    snapshot(
        "schedule_resource_update",
        &UpdateScheduleResourceRequest::new(77, ScheduleResourceInput::new().name("Renamed")),
    );
    snapshot(
        "schedule_resource_delete",
        &DeleteScheduleResourceRequest::new(77),
    );
    let mut list = ListScheduleResourcesRequest::default();
    list.filter = Some(
        ScheduleResourceFilter::new()
            .tags_like("vcprovider:newrow")
            .status_equal(ScheduleResourceStatus::Active),
    );
    list.pager = Some(Pager::new(100));
    snapshot("schedule_resource_list", &list);
}

#[test]
fn schedule_event_request_snapshots() {
    snapshot(
        "schedule_event_add",
        &AddScheduleEventRequest::new(
            ScheduleEventInput::new()
                .summary("Weekly sync")
                .description("Agenda in #general")
                .start_date(1_900_000_000)
                .end_date(1_900_003_600)
                .recurrence_type(RecurrenceType::None)
                .owner_id("discord_42")
                .tags(
                    RoomSettings::new()
                        .class_mode(ClassMode::Webinar)
                        .auto_record(true)
                        .to_tags(),
                ),
        ),
    );
    snapshot("schedule_event_get", &GetScheduleEventRequest::new(55));
    snapshot(
        "schedule_event_update",
        &UpdateScheduleEventRequest::new(55, ScheduleEventInput::new().end_date(1_900_007_200)),
    );
    snapshot(
        "schedule_event_cancel",
        &CancelScheduleEventRequest::new(55),
    );
    snapshot(
        "schedule_event_delete",
        &DeleteScheduleEventRequest::new(55),
    );
    let mut list = ListScheduleEventsRequest::new(
        ScheduleEventFilter::new()
            .start_date_greater_than_or_equal(1_900_000_000)
            .end_date_greater_than_or_equal(1_899_990_000)
            .status_equal(ScheduleEventStatus::Active)
            .tags_multi_like_or("custom_rs_class_mode:webinar")
            .resource_ids_like("77")
            .order_by(ScheduleEventOrderBy::StartDateAsc),
    );
    list.pager = Some(Pager::new(50));
    snapshot("schedule_event_list", &list);
}

#[test]
fn schedule_event_resource_request_snapshots() {
    snapshot(
        "schedule_event_resource_add",
        &AddScheduleEventResourceRequest::new(55, 77),
    );
    snapshot(
        "schedule_event_resource_delete",
        &DeleteScheduleEventResourceRequest::new(55, 77),
    );
    let mut list = ListScheduleEventResourcesRequest::default();
    list.filter = Some(
        ScheduleEventResourceFilter::new()
            .event_id_equal(55)
            .resource_id_equal(77),
    );
    snapshot("schedule_event_resource_list", &list);
}

// --- the Kaltura Meetings flow -----------------------------------------------------------

#[tokio::test]
async fn meetings_flow_room_event_link_and_join_url() {
    let server = MockServer::start().await;
    answer(
        &server,
        "schedule_scheduleresource",
        "add",
        json!({"id": 77, "partnerId": 12345, "name": "Discord #general", "status": 2,
               "tags": "vcprovider:newrow", "createdAt": 1900000000, "updatedAt": 1900000000,
               "objectType": "KalturaLocationScheduleResource"}),
    )
    .await;
    answer(
        &server,
        "schedule_scheduleevent",
        "add",
        json!({"id": "55", "partnerId": 12345, "summary": "Weekly sync", "status": 2,
               "startDate": 1900000000, "endDate": "1900003600", "classificationType": 1,
               "recurrenceType": 0, "duration": 3600, "sequence": 1,
               "tags": "custom_rs_class_mode:virtual_classroom,custom_rec_auto_start:1",
               "createdAt": 1899990000, "updatedAt": 1899990000,
               "objectType": "KalturaRecordScheduleEvent"}),
    )
    .await;
    answer(
        &server,
        "schedule_scheduleeventresource",
        "add",
        json!({"eventId": 55, "resourceId": "77", "partnerId": 12345, "createdAt": 1899990000,
               "updatedAt": 1899990000, "objectType": "KalturaScheduleEventResource"}),
    )
    .await;
    let client = admin_client(&server);

    let room = client
        .schedule_resource()
        .add_room("Discord #general")
        .send()
        .await
        .unwrap();
    let event = client
        .schedule_event()
        .add("Weekly sync", 1_900_000_000, 1_900_003_600)
        .room_settings(
            RoomSettings::new()
                .class_mode(ClassMode::VirtualClassroom)
                .auto_record(true),
        )
        .send()
        .await
        .unwrap();
    let link = client
        .schedule_event_resource()
        .add(event.id, room.id)
        .await
        .unwrap();

    assert_eq!(room.id, ScheduleResourceId::new(77));
    assert_eq!(
        room.object_type.as_deref(),
        Some("KalturaLocationScheduleResource")
    );
    assert_eq!(event.id, ScheduleEventId::new(55));
    assert_eq!(event.end_date, Some(1_900_003_600.into()));
    assert_eq!(
        RoomSettings::from_tags(event.tags.as_deref().unwrap()).class_mode,
        Some(ClassMode::VirtualClassroom)
    );
    assert_eq!((link.event_id, link.resource_id), (event.id, room.id));

    let sent = bodies(&server).await;
    assert_eq!(
        sent[0]["scheduleResource"],
        json!({"name": "Discord #general", "tags": "vcprovider:newrow",
               "objectType": "KalturaLocationScheduleResource"})
    );
    assert_eq!(
        sent[1]["scheduleEvent"],
        json!({"summary": "Weekly sync", "startDate": 1900000000, "endDate": 1900003600,
               "recurrenceType": 0,
               "tags": "custom_rs_class_mode:virtual_classroom,custom_rec_auto_start:1",
               "objectType": "KalturaRecordScheduleEvent"})
    );
    assert_eq!(
        sent[2]["scheduleEventResource"],
        json!({"eventId": 55, "resourceId": 77, "objectType": "KalturaScheduleEventResource"})
    );

    // The join link of an instructor: a USER KS scoped to the event.
    let secret = SecretString::from(SECRET);
    let join = MeetingJoin::new(
        PartnerId::new(PARTNER),
        MeetingTarget::Event(event.id),
        "discord_42",
    )
    .role(MeetingRole::Instructor)
    .first_name("Ada")
    .build(&secret)
    .unwrap();
    let url = url::Url::parse(join.expose_url()).unwrap();
    assert_eq!(url.host_str(), Some("12345.kaf.kaltura.com"));
    assert_eq!(url.path(), "/virtualEvent/launch");
    let ks_param = url
        .query_pairs()
        .find(|(k, _)| k == "ks")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let decoded = ks::decode(&ks_param, &secret).unwrap();
    assert_eq!(decoded.partner_id, PartnerId::new(PARTNER));
    assert_eq!(decoded.session_type, SessionType::User);
    assert_eq!(decoded.user_id, "discord_42");
    let privilege = |name: &str| {
        decoded
            .privileges
            .get(name)
            .and_then(|p| p.value())
            .map(str::to_owned)
    };
    assert_eq!(privilege("eventId").as_deref(), Some("55"));
    assert_eq!(privilege("role").as_deref(), Some("adminRole"));
    assert_eq!(privilege("userContextualRole").as_deref(), Some("0"));
    assert_eq!(privilege("firstName").as_deref(), Some("Ada"));
}

#[tokio::test]
async fn schedule_event_list_cancel_and_link_list_round_trips() {
    let server = MockServer::start().await;
    answer(
        &server,
        "schedule_scheduleevent",
        "list",
        json!({"objects": [
                {"id": 55, "summary": "A", "status": 2, "startDate": 1900000000, "endDate": 1900003600,
                 "recurrenceType": "0", "objectType": "KalturaRecordScheduleEvent"},
                {"id": 56, "summary": "B", "status": 7, "startDate": 1900000000, "endDate": 1900003600,
                 "recurrenceType": 9, "objectType": "KalturaLiveStreamScheduleEvent",
                 "sourceEntryId": "0_live"}],
               "totalCount": 2, "objectType": "KalturaScheduleEventListResponse"}),
    )
    .await;
    answer(
        &server,
        "schedule_scheduleevent",
        "cancel",
        json!({"id": 55, "status": 1, "objectType": "KalturaRecordScheduleEvent"}),
    )
    .await;
    answer(
        &server,
        "schedule_scheduleeventresource",
        "list",
        json!({"objects": [{"eventId": 55, "resourceId": 77, "objectType": "KalturaScheduleEventResource"}],
               "totalCount": 1, "objectType": "KalturaScheduleEventResourceListResponse"}),
    )
    .await;
    answer(
        &server,
        "schedule_scheduleeventresource",
        "delete",
        Value::Null,
    )
    .await;
    let client = admin_client(&server);

    let events = client
        .schedule_event()
        .list()
        .filter(ScheduleEventFilter::new().end_date_greater_than_or_equal(1_899_990_000))
        .paginate()
        .collect_all()
        .await
        .unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].recurrence_type, Some(RecurrenceType::None));
    assert_eq!(events[1].status, Some(ScheduleEventStatus::Unknown(7)));
    assert_eq!(events[1].recurrence_type, Some(RecurrenceType::Unknown(9)));
    assert_eq!(events[1].extra["sourceEntryId"], "0_live");

    let cancelled = client.schedule_event().cancel(55).await.unwrap();
    assert_eq!(cancelled.status, Some(ScheduleEventStatus::Cancelled));

    let links = client
        .schedule_event_resource()
        .list()
        .filter(ScheduleEventResourceFilter::new().event_id_equal(55))
        .send()
        .await
        .unwrap();
    assert_eq!(links.objects[0].resource_id, ScheduleResourceId::new(77));
    client
        .schedule_event_resource()
        .delete(55, 77)
        .await
        .unwrap();

    let sent = bodies(&server).await;
    assert_eq!(sent[1]["scheduleEventId"], 55);
    assert_eq!(
        (&sent[3]["scheduleEventId"], &sent[3]["scheduleResourceId"]),
        (&json!(55), &json!(77))
    );
}

// --- virtual events ----------------------------------------------------------------------

#[test]
fn virtual_event_request_snapshots() {
    snapshot(
        "virtual_event_add",
        &AddVirtualEventRequest::new(
            VirtualEventInput::new()
                .name("Launch week")
                .description("Five days of talks")
                .tags("launch")
                .main_event_schedule_event_id(55)
                .registration_form_schema(r#"{"fields":[]}"#),
        ),
    );
    snapshot("virtual_event_get", &GetVirtualEventRequest::new(9));
    snapshot(
        "virtual_event_update",
        &UpdateVirtualEventRequest::new(9, VirtualEventInput::new().name("Launch week 2")),
    );
    snapshot("virtual_event_delete", &DeleteVirtualEventRequest::new(9));
    let mut list = ListVirtualEventsRequest::default();
    list.filter = Some(
        VirtualEventFilter::new()
            .id_in([VirtualEventId::new(9), VirtualEventId::new(10)])
            .status_equal(VirtualEventStatus::Active),
    );
    snapshot("virtual_event_list", &list);
}

#[tokio::test]
async fn virtual_event_get_round_trip() {
    let server = MockServer::start().await;
    answer(
        &server,
        "virtualevent_virtualevent",
        "get",
        json!({"id": "9", "partnerId": 12345, "name": "Launch week", "status": 5,
               "mainEventScheduleEventId": "55", "registrationFormSchema": "{\"fields\":[]}",
               "eventUrl": "https://events.example.org/launch", "createdAt": 1900000000,
               "objectType": "KalturaVirtualEvent"}),
    )
    .await;
    let client = admin_client(&server);

    let event = client.virtual_event().get(9).await.unwrap();

    assert_eq!(event.id, VirtualEventId::new(9));
    assert_eq!(event.status, Some(VirtualEventStatus::Unknown(5)));
    assert_eq!(
        event.main_event_schedule_event_id,
        Some(ScheduleEventId::new(55))
    );
    assert_eq!(bodies(&server).await[0]["id"], 9);
}

#[tokio::test]
async fn fake_virtual_event_crud() {
    let fake = FakeKaltura::start().await;
    let client = fake_client(&fake);

    let added = client
        .virtual_event()
        .add("Launch week")
        .description("Five days")
        .send()
        .await
        .unwrap();
    assert_eq!(added.name.as_deref(), Some("Launch week"));
    let updated = client
        .virtual_event()
        .update(added.id)
        .name("Launch week 2")
        .send()
        .await
        .unwrap();
    assert_eq!(
        updated.description.as_deref(),
        Some("Five days"),
        "unchanged"
    );
    let list = client
        .virtual_event()
        .list()
        .filter(VirtualEventFilter::new().id_equal(added.id))
        .send()
        .await
        .unwrap();
    assert_eq!(list.total_count, 1);
    client.virtual_event().delete(added.id).await.unwrap();
    let err = client.virtual_event().get(added.id).await.unwrap_err();
    assert_eq!(
        err.api_code(),
        Some(&kaltura_client::ErrorCode::VirtualEventNotFound)
    );
}

// --- event notification templates --------------------------------------------------------

fn webhook_input() -> HttpNotificationTemplateInput {
    HttpNotificationTemplateInput::new()
        .name("Discord entry ready")
        .system_name("DISCORD_ENTRY_READY")
        .event_type(EventNotificationEventType::ObjectChanged)
        .event_object_type(EventNotificationEventObjectType::Entry)
        .automatic_dispatch_enabled(true)
        .url("https://bot.example.org/kaltura/webhook")
        .method(HttpNotificationMethod::Post)
        .data(HttpNotificationData::Object(
            HttpNotificationObjectData::json("KalturaMediaEntry"),
        ))
        .custom_headers([KeyValue::new("X-Bot", "kaltura-discord")])
        .secure_hashing_algo(SecureHashingAlgorithm::Sha256)
}

#[test]
fn event_notification_request_snapshots() {
    let mut system = ListTemplatesRequest::system();
    system.filter =
        Some(EventNotificationTemplateFilter::new().system_name_equal("HTTP_ENTRY_STATUS_CHANGED"));
    snapshot("event_notification_list_templates", &system);
    let mut list = ListTemplatesRequest::partner();
    list.filter = Some(
        EventNotificationTemplateFilter::new().status_in([EventNotificationTemplateStatus::Active]),
    );
    list.pager = Some(Pager::new(10));
    snapshot("event_notification_list", &list);
    snapshot("event_notification_get", &GetTemplateRequest::new(45));
    snapshot(
        "event_notification_clone",
        &CloneTemplateRequest::new(
            45,
            Some(
                HttpNotificationTemplateInput::new()
                    .url("https://bot.example.org/kaltura/webhook")
                    .data(HttpNotificationData::Text(HttpNotificationDataText::new(
                        "entry {entry_id} is ready",
                    ))),
            ),
        ),
    );
    snapshot(
        "event_notification_add",
        &AddTemplateRequest::new(webhook_input()),
    );
    snapshot(
        "event_notification_update",
        &UpdateTemplateRequest::new(
            46,
            HttpNotificationTemplateInput::new().method(HttpNotificationMethod::Put),
        ),
    );
    snapshot(
        "event_notification_update_status",
        &UpdateTemplateStatusRequest::new(46, EventNotificationTemplateStatus::Active),
    );
    snapshot("event_notification_delete", &DeleteTemplateRequest::new(46));
}

#[tokio::test]
async fn event_notification_list_templates_clone_and_activate_round_trip() {
    let server = MockServer::start().await;
    answer(
        &server,
        "eventnotification_eventnotificationtemplate",
        "listTemplates",
        json!({"objects": [
                {"id": 45, "partnerId": 0, "name": "Entry Status Changed",
                 "systemName": "HTTP_ENTRY_STATUS_CHANGED", "type": "httpNotification.Http",
                 "status": 2, "eventType": "3", "eventObjectType": "1",
                 "eventConditions": [{"objectType": "KalturaEventFieldCondition"}],
                 "url": "http://", "method": 2, "secureHashingAlgo": 1,
                 "objectType": "KalturaHttpNotificationTemplate"},
                {"id": 46, "systemName": "EMAIL_ENTRY_READY", "type": "emailNotification.Email",
                 "status": 2, "objectType": "KalturaEmailNotificationTemplate"},
                {"id": 47, "systemName": "HTTP_VIRTUAL_EVENT", "type": "httpNotification.Http",
                 "eventType": 99, "eventObjectType": "virtualEventEventNotifications.VirtualEvent",
                 "method": 9, "objectType": "KalturaHttpNotificationTemplate"}],
               "totalCount": 3, "objectType": "KalturaEventNotificationTemplateListResponse"}),
    )
    .await;
    answer(
        &server,
        "eventnotification_eventnotificationtemplate",
        "clone",
        json!({"id": 100, "partnerId": 12345, "systemName": "HTTP_ENTRY_STATUS_CHANGED",
               "status": 1, "url": "https://bot.example.org/kaltura/webhook", "method": 2,
               "data": {"apiObjectType": "KalturaMediaEntry", "format": 1, "ignoreNull": true,
                        "objectType": "KalturaHttpNotificationObjectData"},
               "objectType": "KalturaHttpNotificationTemplate"}),
    )
    .await;
    answer(
        &server,
        "eventnotification_eventnotificationtemplate",
        "updateStatus",
        json!({"id": 100, "status": "2", "objectType": "KalturaHttpNotificationTemplate"}),
    )
    .await;
    let client = admin_client(&server);
    let templates = client.event_notification_template();

    let system = templates.list_templates().send().await.unwrap();
    assert_eq!(system.total_count, 3);
    let http = system.objects[0].as_http().unwrap();
    assert_eq!(
        http.event_type,
        Some(EventNotificationEventType::ObjectChanged)
    );
    assert_eq!(
        http.event_object_type,
        Some(EventNotificationEventObjectType::Entry)
    );
    assert_eq!(http.secure_hashing_algo, Some(SecureHashingAlgorithm::Sha1));
    assert!(system.objects[1].as_http().is_none());
    assert_eq!(system.objects[1].system_name(), Some("EMAIL_ENTRY_READY"));
    let plugin = system.objects[2].as_http().unwrap();
    assert_eq!(
        plugin.event_object_type,
        Some(EventNotificationEventObjectType::VirtualEvent)
    );
    assert_eq!(
        plugin.event_type,
        Some(EventNotificationEventType::Unknown("99".into()))
    );
    assert_eq!(plugin.method, Some(HttpNotificationMethod::Unknown(9)));

    let clone = templates
        .clone_template(
            45,
            HttpNotificationTemplateInput::new()
                .url("https://bot.example.org/kaltura/webhook")
                .data(HttpNotificationData::Object(
                    HttpNotificationObjectData::json("KalturaMediaEntry"),
                )),
        )
        .await
        .unwrap();
    assert_eq!(
        clone.status(),
        Some(EventNotificationTemplateStatus::Disabled)
    );
    assert!(matches!(
        clone.as_http().unwrap().data,
        Some(HttpNotificationData::Object(_))
    ));
    let active = templates
        .update_status(clone.id().unwrap(), EventNotificationTemplateStatus::Active)
        .await
        .unwrap();
    assert_eq!(
        active.status(),
        Some(EventNotificationTemplateStatus::Active)
    );

    let sent = bodies(&server).await;
    assert_eq!(sent[1]["id"], 45);
    assert_eq!(
        sent[1]["eventNotificationTemplate"]["objectType"],
        "KalturaHttpNotificationTemplate"
    );
    assert_eq!(
        (&sent[2]["id"], &sent[2]["status"]),
        (&json!(100), &json!(2))
    );
}

#[tokio::test]
async fn fake_event_notification_template_add_update_status_list_delete() {
    let fake = FakeKaltura::start().await;
    let client = fake_client(&fake);
    let templates = client.event_notification_template();

    let added = templates.add(webhook_input()).await.unwrap();
    let id = added.id().unwrap();
    assert_eq!(
        added.status(),
        Some(EventNotificationTemplateStatus::Disabled)
    );
    let http = added.as_http().unwrap();
    assert_eq!(http.method, Some(HttpNotificationMethod::Post));
    assert_eq!(http.custom_headers[0].key.as_deref(), Some("X-Bot"));

    let updated = templates
        .update(
            id,
            HttpNotificationTemplateInput::new().url("https://bot.example.org/v2"),
        )
        .await
        .unwrap();
    assert_eq!(
        updated.as_http().unwrap().url.as_deref(),
        Some("https://bot.example.org/v2")
    );
    assert_eq!(updated.name(), Some("Discord entry ready"), "unchanged");

    let active = templates
        .update_status(id, EventNotificationTemplateStatus::Active)
        .await
        .unwrap();
    assert_eq!(
        active.status(),
        Some(EventNotificationTemplateStatus::Active)
    );

    let listed = templates
        .list()
        .filter(EventNotificationTemplateFilter::new().id_equal(id))
        .send()
        .await
        .unwrap();
    assert_eq!(listed.total_count, 1);
    let got = templates.get(id).await.unwrap();
    assert_eq!(got.id(), Some(id));

    templates.delete(id).await.unwrap();
    assert!(templates.get(id).await.is_err());
    assert_eq!(id, EventNotificationTemplateId::new(id.get()));
}

#[tokio::test]
async fn fake_meetings_flow_add_link_list_unlink() {
    let fake = FakeKaltura::start().await;
    let client = fake_client(&fake);

    let room = client
        .schedule_resource()
        .add_room("Discord #general")
        .send()
        .await
        .unwrap();
    assert_eq!(room.tags.as_deref(), Some("vcprovider:newrow"));
    assert_eq!(
        room.object_type.as_deref(),
        Some("KalturaLocationScheduleResource")
    );
    let event = client
        .schedule_event()
        .add("Weekly sync", 1_900_000_000, 1_900_003_600)
        .room_settings(RoomSettings::new().class_mode(ClassMode::Webinar))
        .send()
        .await
        .unwrap();
    assert_eq!(event.duration, Some(3600));
    assert_eq!(event.recurrence_type, Some(RecurrenceType::None));
    let link = client
        .schedule_event_resource()
        .add(event.id, room.id)
        .await
        .unwrap();
    assert_eq!((link.event_id, link.resource_id), (event.id, room.id));
    let dup = client
        .schedule_event_resource()
        .add(event.id, room.id)
        .await
        .unwrap_err();
    assert!(dup.api_code().is_some());

    let rooms = client
        .schedule_resource()
        .list()
        .filter(ScheduleResourceFilter::new().tags_like("vcprovider:newrow"))
        .send()
        .await
        .unwrap();
    assert_eq!(rooms.total_count, 1);
    let events = client
        .schedule_event()
        .list()
        .filter(
            ScheduleEventFilter::new()
                .start_date_greater_than_or_equal(1_899_000_000)
                .tags_like("custom_rs_class_mode:webinar"),
        )
        .paginate()
        .collect_all()
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    let links = client
        .schedule_event_resource()
        .list()
        .filter(ScheduleEventResourceFilter::new().event_id_equal(event.id))
        .send()
        .await
        .unwrap();
    assert_eq!(links.objects.len(), 1);
    client
        .schedule_event_resource()
        .delete(event.id, room.id)
        .await
        .unwrap();

    // The join link for the event: a USER KS signed with the fake's admin secret.
    let join = kaltura_client::urls::MeetingJoin::new(
        fake.partner_id(),
        kaltura_client::urls::MeetingTarget::Event(event.id),
        "discord_42",
    )
    .role(kaltura_client::urls::MeetingRole::Attendee)
    .first_name("Ada")
    .build(fake.admin_secret())
    .unwrap();
    let url = url::Url::parse(join.expose_url()).unwrap();
    let join_ks = url
        .query_pairs()
        .find(|(k, _)| k == "ks")
        .unwrap()
        .1
        .into_owned();
    let decoded = ks::decode(&join_ks, fake.admin_secret()).unwrap();
    assert_eq!(decoded.session_type, SessionType::User);
    assert_eq!(decoded.user_id, "discord_42");
    assert_eq!(
        decoded.privileges.to_string(),
        format!(
            "eventId:{},role:viewerRole,userContextualRole:3,firstName:Ada",
            event.id
        )
    );
    // The fake accepts that KS like Kaltura would (it reads the event as that user).
    let as_user = client.with_ks(kaltura_client::Ks::new(join_ks));
    assert_eq!(
        as_user.schedule_event().get(event.id).await.unwrap().id,
        event.id
    );

    // get / update / cancel / delete use Kaltura's `scheduleEventId` / `scheduleResourceId`.
    assert_eq!(
        client
            .schedule_event()
            .get(event.id)
            .await
            .unwrap()
            .summary
            .as_deref(),
        Some("Weekly sync")
    );
    let renamed = client
        .schedule_event()
        .update(event.id)
        .summary("Renamed")
        .send()
        .await
        .unwrap();
    assert_eq!(renamed.summary.as_deref(), Some("Renamed"));
    let cancelled = client.schedule_event().cancel(event.id).await.unwrap();
    assert_eq!(
        cancelled.status,
        Some(kaltura_client::types::schedule::ScheduleEventStatus::Cancelled)
    );
    client.schedule_event().delete(event.id).await.unwrap();
    assert_eq!(
        client
            .schedule_event()
            .get(event.id)
            .await
            .unwrap_err()
            .api_code(),
        Some(&kaltura_client::ErrorCode::ScheduleEventIdNotFound)
    );
    let room = client
        .schedule_resource()
        .update(room.id)
        .name("Renamed room")
        .send()
        .await
        .unwrap();
    assert_eq!(room.name.as_deref(), Some("Renamed room"));
    assert_eq!(
        client
            .schedule_resource()
            .get(room.id)
            .await
            .unwrap()
            .name
            .as_deref(),
        Some("Renamed room")
    );
    client.schedule_resource().delete(room.id).await.unwrap();
}

#[tokio::test]
async fn fake_notification_templates_list_system_templates_and_clone() {
    let fake = FakeKaltura::start().await;
    let client = fake_client(&fake);
    let system = client
        .event_notification_template()
        .list_templates()
        .send()
        .await
        .unwrap();
    let source = system
        .objects
        .iter()
        .find(|t| t.system_name() == Some("HTTP_ENTRY_STATUS_CHANGED"))
        .expect("system template");
    let copy = client
        .event_notification_template()
        .clone_template(
            source.id().unwrap(),
            HttpNotificationTemplateInput::new()
                .name("To Discord")
                .url("http://127.0.0.1:9/webhook"),
        )
        .await
        .unwrap();
    let EventNotificationTemplate::Http(copy) = copy else {
        panic!("expected an HTTP template")
    };
    assert_eq!(copy.name.as_deref(), Some("To Discord"));
    assert_eq!(
        copy.system_name.as_deref(),
        Some("HTTP_ENTRY_STATUS_CHANGED")
    );
    assert_eq!(copy.status, Some(EventNotificationTemplateStatus::Disabled));
    assert_ne!(Some(copy.id), source.id());
}

#[tokio::test]
async fn fake_recording_links_to_its_session_through_the_template_entry() {
    use kaltura_client::EntryId;
    use kaltura_client::fake::NewEntry;
    use kaltura_client::types::schedule::RECORD_SCHEDULE_EVENT_FILTER;

    let fake = FakeKaltura::start().await;
    let client = fake_client(&fake);
    let first = client
        .schedule_event()
        .add("Standup", 1_900_000_000, 1_900_003_600)
        .send()
        .await
        .unwrap();
    let second = client
        .schedule_event()
        .add("Retro", 1_900_010_000, 1_900_013_600)
        .send()
        .await
        .unwrap();
    assert_eq!(first.template_entry_id, None);

    let recording = fake
        .add_recording(
            first.id.get(),
            NewEntry::new("Standup recording").duration(1800),
        )
        .unwrap();
    let event = client.schedule_event().get(first.id).await.unwrap();
    let template = event.template_entry_id.clone().expect("a template entry");
    let entry = client
        .media()
        .get(EntryId::parse(&recording).unwrap())
        .await
        .unwrap();
    assert_eq!(entry.extra["templateEntryId"], template.as_str());
    assert_eq!(entry.reference_id, Some(first.id.get().to_string()));
    assert_eq!(
        entry.status,
        Some(kaltura_client::types::EntryStatus::Ready)
    );
    assert_eq!(entry.duration, Some(1800));

    // The session of the recording, with the filter class that declares the property.
    let mut request = ListScheduleEventsRequest::new(
        ScheduleEventFilter::new().template_entry_id_equal(template.clone()),
    );
    request.filter_object_type = RECORD_SCHEDULE_EVENT_FILTER.to_owned();
    let found = client.send(request).await.unwrap();
    assert_eq!(
        found.objects.iter().map(|e| e.id).collect::<Vec<_>>(),
        [first.id]
    );
    // A plain KalturaScheduleEventFilter does not declare it: ignored, as Kaltura does.
    let plain = client
        .schedule_event()
        .list()
        .filter(ScheduleEventFilter::new().template_entry_id_equal(template.clone()))
        .send()
        .await
        .unwrap();
    assert_eq!(plain.total_count, 2);

    // A second recording reuses the session's template entry; the other session has none.
    let again = fake
        .add_recording(first.id.get(), NewEntry::new("Part 2"))
        .unwrap();
    assert_ne!(again, recording);
    let event = client.schedule_event().get(first.id).await.unwrap();
    assert_eq!(event.template_entry_id, Some(template));
    let other = client.schedule_event().get(second.id).await.unwrap();
    assert_eq!(other.template_entry_id, None);
    let missing = fake.add_recording(424_242, NewEntry::new("x")).unwrap_err();
    assert_eq!(
        missing.code,
        kaltura_client::ErrorCode::ScheduleEventIdNotFound
    );
}
