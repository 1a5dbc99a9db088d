//! The command layer: `CommandEngine::respond` for `/kaltura whoami` and `/kaltura video
//! search query:intro` against an in-process fake Kaltura (demo data) and a `MemoryStore`,
//! `interaction::parse` of the realistic slash-command body of the Discord reference notes
//! (§1.7), and `InteractionResponse::to_json` of a rich reply (embed, buttons, select).
//!
//! The engine runs on a current-thread runtime that also drives the fake Kaltura, so the
//! search figure includes one loopback HTTP round trip to it (request, JSON decode).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use kaltura_discord::commands::interaction::parse;
use kaltura_discord::commands::reply::{
    ActionRow, Button, ButtonStyle, Embed, Select, SelectOption,
};
use kaltura_discord::commands::{Interaction, InteractionHandler as _, InteractionResponse, Reply};

#[path = "../examples/support/engine.rs"]
mod engine;

/// The §1.7 body, verbatim (`/kaltura search query:"quarterly all-hands" limit:5`).
fn section_1_7_body() -> Vec<u8> {
    let options = serde_json::json!([{
        "name": "search", "type": 1,
        "options": [
            { "name": "query", "type": 3, "value": "quarterly all-hands" },
            { "name": "limit", "type": 4, "value": 5 }
        ]
    }]);
    serde_json::to_vec(&engine::interaction_body(options)).unwrap_or_else(|e| panic!("{e}"))
}

fn command(options: serde_json::Value) -> Interaction {
    let body =
        serde_json::to_vec(&engine::interaction_body(options)).unwrap_or_else(|e| panic!("{e}"));
    parse(&body).unwrap_or_else(|e| panic!("parse: {e}"))
}

fn respond(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    let fixture = runtime.block_on(engine::fixture());
    let whoami = command(serde_json::json!([{"name": "whoami", "type": 1, "options": []}]));
    let search = command(engine::video_search_options("intro"));

    // Both answer inline with a message (no deferral, nothing sent to Discord).
    for (name, interaction) in [("whoami", &whoami), ("search", &search)] {
        match runtime.block_on(fixture.engine.respond(interaction.clone())) {
            InteractionResponse::Message(reply) => {
                let text = format!("{reply:?}");
                assert!(!text.contains("went wrong"), "{name}: {text}");
            }
            other => panic!("{name}: expected a message, got {other:?}"),
        }
    }
    assert_eq!(fixture.rest.calls(), 0);

    c.bench_function("engine_respond_whoami", |b| {
        b.iter(|| runtime.block_on(fixture.engine.respond(black_box(whoami.clone()))))
    });
    c.bench_function("engine_respond_video_search_intro", |b| {
        b.iter(|| runtime.block_on(fixture.engine.respond(black_box(search.clone()))))
    });
    assert_eq!(fixture.rest.calls(), 0, "nothing was deferred");
}

fn parse_body(c: &mut Criterion) {
    let body = section_1_7_body();
    assert!(matches!(parse(&body), Ok(Interaction::Command(_))));
    c.bench_function("interaction_parse_section_1_7", |b| {
        b.iter(|| parse(black_box(&body)))
    });
}

fn rich_reply() -> InteractionResponse {
    let mut embed = Embed::titled("Videos matching \"intro\"")
        .field("Duration", "42 min", true)
        .field("Owner", "Dana", true)
        .field("Created", "<t:1800000000:R>", true);
    embed.description = Some("Introduction to the media platform, part 1 of 3.".to_owned());
    embed.footer = Some("Page 1 of 4".to_owned());
    embed.color = Some(0x6efa);
    let reply = Reply::text("5 results")
        .embed(embed)
        .row(ActionRow::Buttons(vec![
            Button::Link {
                label: "Watch".to_owned(),
                url: "https://example.invalid/watch/0_abcdef12".to_owned(),
            },
            Button::Action {
                label: "Next page".to_owned(),
                custom_id: "kd1:page:0123456789abcdef:2".to_owned(),
                style: ButtonStyle::Secondary,
                disabled: false,
            },
        ]))
        .row(ActionRow::Select(Select {
            custom_id: "kd1:pick:0123456789abcdef".to_owned(),
            placeholder: Some("Pick a video".to_owned()),
            options: (1..=5)
                .map(|i| SelectOption {
                    label: format!("Intro part {i}"),
                    value: format!("0_abcdef1{i}"),
                    description: Some(format!("{i}0 min")),
                })
                .collect(),
        }));
    InteractionResponse::Message(reply)
}

fn to_json(c: &mut Criterion) {
    let response = rich_reply();
    assert_eq!(response.to_json()["type"], 4);
    c.bench_function("interaction_response_to_json_rich", |b| {
        b.iter(|| black_box(&response).to_json())
    });
}

criterion_group!(benches, respond, parse_body, to_json);
criterion_main!(benches);
