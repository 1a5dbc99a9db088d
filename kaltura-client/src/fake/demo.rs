//! The deterministic demo catalog ([`FakeKalturaBuilder::seed_demo_data`](super::FakeKalturaBuilder::seed_demo_data)):
//! categories, users and [`DEMO_ENTRY_COUNT`] READY media entries. Everything, ids included,
//! is the same on every run; timestamps start at 2023-11-14 (unix 1 700 000 000), one
//! entry per day.

use serde_json::json;

use super::services::{category, media, user};
use super::store::Store;

/// Number of media entries in the demo catalog.
pub const DEMO_ENTRY_COUNT: usize = 36;

const BASE_TIME: i64 = 1_700_000_000;

/// (name, description, tags, category index)
const TOPICS: [(&str, &str, &str, usize); 12] = [
    (
        "Funny Cats",
        "Cats doing funny things, curated for a rainy day.",
        "cats,funny,pets",
        6,
    ),
    (
        "Puppy Training Basics",
        "How to teach a puppy to sit, stay and come back.",
        "dogs,pets,training",
        0,
    ),
    (
        "Welcome to the Team",
        "Onboarding walkthrough for new employees.",
        "onboarding,hr,welcome",
        1,
    ),
    (
        "Quarterly Town Hall",
        "Company update with questions from the audience.",
        "townhall,company,live",
        5,
    ),
    (
        "Rust Ownership Explained",
        "Borrowing, lifetimes and the borrow checker in plain words.",
        "rust,programming,tutorial",
        4,
    ),
    (
        "Async Rust with Tokio",
        "Tasks, channels and cancellation with the tokio runtime.",
        "rust,async,tokio,programming",
        4,
    ),
    (
        "Product Launch Keynote",
        "The keynote introducing this year's product line.",
        "launch,keynote,marketing",
        2,
    ),
    (
        "Customer Story: Acme",
        "How Acme ships video to millions of learners.",
        "customer,case-study,marketing",
        2,
    ),
    (
        "Cooking Pasta Like a Pro",
        "Fresh pasta from scratch in twenty minutes.",
        "cooking,food,howto",
        6,
    ),
    (
        "Security Awareness",
        "Phishing, passwords and safe browsing for everyone.",
        "security,training,compliance",
        0,
    ),
    (
        "Kubernetes in Ten Minutes",
        "Pods, deployments and services without the jargon.",
        "kubernetes,devops,programming",
        3,
    ),
    (
        "Team Offsite Highlights",
        "Music, games and the best moments of the offsite.",
        "offsite,fun,events",
        5,
    ),
];

const PARTS: [&str; 3] = ["", " (Part 2)", " (Highlights)"];

/// (name, parent index)
const CATEGORIES: [(&str, Option<usize>); 7] = [
    ("Training", None),
    ("Onboarding", Some(0)),
    ("Marketing", None),
    ("Engineering", None),
    ("Rust", Some(3)),
    ("Events", None),
    ("Fun", None),
];

/// A user of the demo catalog and its Kaltura login: sign in with
/// `user.loginByLoginId(email, password)` to get a KS for `id` (ADMIN for `admin`, USER for
/// the others).
///
/// | id | login id (email) | password | admin |
/// |---|---|---|---|
/// | `admin` | `admin@example.com` | `Ada#Demo1` | yes |
/// | `discord_42` | `dee@example.com` | `Dee#Demo1` | no |
/// | `alice` | `alice@example.com` | `Alice#Demo1` | no |
/// | `bob` | `bob@example.com` | `Bob#Demo1` | no |
/// | `carol` | `carol@example.com` | `Carol#Demo1` | no |
///
/// These are public test credentials of a fake server: never reuse them elsewhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct DemoUser {
    /// The Kaltura user id.
    pub id: &'static str,
    /// First name.
    pub first_name: &'static str,
    /// Last name.
    pub last_name: &'static str,
    /// The email, also the login id.
    pub email: &'static str,
    /// The password of the login.
    pub password: &'static str,
    /// Whether the user is an admin (signs in to an ADMIN session).
    pub admin: bool,
}

const fn demo_user(
    id: &'static str,
    first_name: &'static str,
    last_name: &'static str,
    email: &'static str,
    password: &'static str,
    admin: bool,
) -> DemoUser {
    DemoUser {
        id,
        first_name,
        last_name,
        email,
        password,
        admin,
    }
}

/// The users of the demo catalog, with their logins.
pub const DEMO_USERS: [DemoUser; 5] = [
    demo_user(
        "admin",
        "Ada",
        "Admin",
        "admin@example.com",
        "Ada#Demo1",
        true,
    ),
    demo_user(
        "discord_42",
        "Dee",
        "Scord",
        "dee@example.com",
        "Dee#Demo1",
        false,
    ),
    demo_user(
        "alice",
        "Alice",
        "Liddell",
        "alice@example.com",
        "Alice#Demo1",
        false,
    ),
    demo_user(
        "bob",
        "Bob",
        "Builder",
        "bob@example.com",
        "Bob#Demo1",
        false,
    ),
    demo_user(
        "carol",
        "Carol",
        "Singer",
        "carol@example.com",
        "Carol#Demo1",
        false,
    ),
];

/// Fills `store` with the demo catalog.
pub(crate) fn seed(store: &mut Store, pid: i64, base_url: &str) {
    let mut category_ids = Vec::new();
    for (i, (name, parent)) in CATEGORIES.iter().enumerate() {
        let id = store.next_int_id();
        let parent_id = parent
            .and_then(|p| category_ids.get(p).copied())
            .unwrap_or(0);
        let mut c = category::new_category(store, pid, id, parent_id, name, BASE_TIME + i as i64);
        c.insert("description".into(), json!(format!("{name} videos")));
        store.categories.insert(id, c);
        category_ids.push(id);
    }

    for (i, d) in DEMO_USERS.iter().enumerate() {
        let mut u = user::new_user(pid, d.id, BASE_TIME + i as i64);
        u.insert("firstName".into(), json!(d.first_name));
        u.insert("lastName".into(), json!(d.last_name));
        u.insert(
            "fullName".into(),
            json!(format!("{} {}", d.first_name, d.last_name)),
        );
        u.insert("screenName".into(), json!(d.first_name));
        u.insert("email".into(), json!(d.email));
        u.insert("isAdmin".into(), json!(d.admin));
        store.users.insert(d.id.to_owned(), u);
        store.logins.insert(
            user::login_key(d.email),
            user::LoginData::new(d.id, d.password),
        );
    }

    for n in 0..DEMO_ENTRY_COUNT {
        // The tables are non-empty constants: `get` never misses.
        let (Some(&(name, description, tags, cat)), Some(&part), Some(&DemoUser { id: owner, .. })) = (
            TOPICS.get(n % TOPICS.len()),
            PARTS.get(n / TOPICS.len() % PARTS.len()),
            DEMO_USERS.get(n % DEMO_USERS.len()),
        ) else {
            continue;
        };
        let id = store.next_string_id();
        let created = BASE_TIME + n as i64 * 86_400;
        let mut e = media::new_entry(pid, base_url, &id, created, owner);
        let duration = 30 + (n as i64 * 97) % 3_000;
        let media_type = match n % 12 {
            7 => 5,  // audio
            11 => 2, // image
            _ => 1,
        };
        e.insert("name".into(), json!(format!("{name}{part}")));
        e.insert("description".into(), json!(description));
        e.insert("tags".into(), json!(tags));
        e.insert(
            "categoriesIds".into(),
            json!(
                category_ids
                    .get(cat)
                    .map(ToString::to_string)
                    .unwrap_or_default()
            ),
        );
        e.insert("status".into(), json!(2));
        e.insert("mediaType".into(), json!(media_type));
        e.insert(
            "duration".into(),
            json!(if media_type == 2 { 0 } else { duration }),
        );
        e.insert(
            "msDuration".into(),
            json!(if media_type == 2 { 0 } else { duration * 1000 }),
        );
        e.insert("plays".into(), json!((n * 37) % 500));
        e.insert("views".into(), json!((n * 53) % 900));
        e.insert(
            "width".into(),
            json!(if media_type == 5 { 0 } else { 1280 }),
        );
        e.insert(
            "height".into(),
            json!(if media_type == 5 { 0 } else { 720 }),
        );
        e.insert("referenceId".into(), json!(format!("demo-{n:02}")));
        e.insert("version".into(), json!(100_000));
        e.insert("updatedAt".into(), json!(created + 3_600));
        media::sync_categories(store, &mut e);
        store.entries.insert(id, e);
    }
}
