//! The dev console: slash-command lines typed as in Discord become interaction JSON, and
//! interaction responses become readable text.
//!
//! ```text
//! /kaltura meeting start title:"Weekly sync" type:webinar
//! /kaltura video search query:intro
//! /kaltura-admin config explain key:meetings
//! :as member        (or :as admin, :as moderator)
//! 1                 (press button 1 of the last reply)
//! ```
//!
//! The console knows the option types from the registration JSON (the same the bot pushes
//! to Discord), so `duration:30` becomes an integer and `member:<@123>` a user id.

use serde_json::{Value, json};

/// Who the console acts as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Persona {
    pub(crate) name: &'static str,
    pub(crate) user_id: u64,
    pub(crate) roles: Vec<u64>,
    /// Discord permission bits in the channel.
    pub(crate) permissions: u64,
}

/// `ADMINISTRATOR | MANAGE_GUILD` plus the everyday bits.
const ADMIN_PERMISSIONS: u64 = (1 << 3) | (1 << 5) | EVERYDAY_PERMISSIONS;
/// VIEW_CHANNEL, SEND_MESSAGES, EMBED_LINKS, READ_MESSAGE_HISTORY, USE_APPLICATION_COMMANDS.
const EVERYDAY_PERMISSIONS: u64 = (1 << 10) | (1 << 11) | (1 << 14) | (1 << 16) | (1 << 31);
/// MANAGE_EVENTS and MANAGE_CHANNELS on top of the everyday bits.
const MODERATOR_PERMISSIONS: u64 = (1 << 33) | (1 << 4) | EVERYDAY_PERMISSIONS;

impl Persona {
    /// The personas `:as NAME` switches between.
    pub(crate) fn named(name: &str) -> Option<Persona> {
        match name {
            "admin" => Some(Persona {
                name: "admin",
                user_id: 100_000_000_000_000_001,
                roles: vec![200_000_000_000_000_001],
                permissions: ADMIN_PERMISSIONS,
            }),
            "moderator" => Some(Persona {
                name: "moderator",
                user_id: 100_000_000_000_000_002,
                roles: vec![200_000_000_000_000_002],
                permissions: MODERATOR_PERMISSIONS,
            }),
            "member" => Some(Persona {
                name: "member",
                user_id: 100_000_000_000_000_003,
                roles: vec![],
                permissions: EVERYDAY_PERMISSIONS,
            }),
            _ => None,
        }
    }
}

/// One console line, understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Input {
    /// Nothing typed.
    Empty,
    /// A slash command: command name, path words, `name:value` options.
    Command {
        command: String,
        words: Vec<String>,
        options: Vec<(String, String)>,
    },
    /// Press button `n` (1-based) of the last reply.
    Press(usize),
    /// Pick option `option` (1-based) of select menu `menu` (1-based) of the last reply.
    Pick { menu: usize, option: usize },
    /// Act as another persona.
    As(String),
    /// Add a READY entry with this name to the fake Kaltura, which notifies the in-process
    /// webhook receiver (an "entry ready" message then appears in the dev channel).
    Upload(String),
    /// Show the console help.
    Help,
    /// Leave the console (the servers keep running until Ctrl-C).
    Quit,
}

/// Splits a line into words, honouring double and single quotes and backslash escapes
/// inside double quotes: `title:"Weekly sync"` is one word `title:Weekly sync`.
pub(crate) fn tokenize(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' | '\'' => {
                in_word = true;
                let quote = c;
                let mut closed = false;
                while let Some(q) = chars.next() {
                    if q == quote {
                        closed = true;
                        break;
                    }
                    if q == '\\' && quote == '"' {
                        match chars.next() {
                            Some(escaped) => current.push(escaped),
                            None => break,
                        }
                    } else {
                        current.push(q);
                    }
                }
                if !closed {
                    return Err(format!("unclosed {quote} quote"));
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut current));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                current.push(c);
            }
        }
    }
    if in_word {
        words.push(current);
    }
    Ok(words)
}

/// Understands one console line.
pub(crate) fn parse_line(line: &str) -> Result<Input, String> {
    let trimmed = line.trim();
    if trimmed.is_empty() {
        return Ok(Input::Empty);
    }
    if let Some(rest) = trimmed.strip_prefix(':') {
        let words = tokenize(rest)?;
        return match words
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .as_slice()
        {
            ["as", name] => Ok(Input::As((*name).to_owned())),
            ["help"] => Ok(Input::Help),
            ["upload", name] if !name.trim().is_empty() => Ok(Input::Upload((*name).to_owned())),
            ["upload", ..] => Err("usage: :upload \"Intro lecture\" (one quoted name)".to_owned()),
            ["quit"] | ["q"] | ["exit"] => Ok(Input::Quit),
            ["press", n] => parse_index(n).map(Input::Press),
            ["pick", menu, option] => Ok(Input::Pick {
                menu: parse_index(menu)?,
                option: parse_index(option)?,
            }),
            _ => Err(format!("unknown console command `:{rest}`; type :help")),
        };
    }
    if trimmed.bytes().all(|b| b.is_ascii_digit()) {
        return parse_index(trimmed).map(Input::Press);
    }
    let Some(rest) = trimmed.strip_prefix('/') else {
        return Err(
            "type a slash command such as `/kaltura help`, a button number, or :help".into(),
        );
    };
    let mut words = tokenize(rest)?.into_iter();
    let command = words.next().unwrap_or_default();
    if command.is_empty() {
        return Err("a command name must follow `/`".into());
    }
    let mut path = Vec::new();
    let mut options = Vec::new();
    for word in words {
        match word.split_once(':') {
            Some((name, value)) if !name.is_empty() => {
                options.push((name.to_owned(), value.to_owned()));
            }
            _ if options.is_empty() => path.push(word),
            _ => {
                return Err(format!(
                    "`{word}` comes after an option; write subcommands first, then name:value options"
                ));
            }
        }
    }
    Ok(Input::Command {
        command,
        words: path,
        options,
    })
}

fn parse_index(raw: &str) -> Result<usize, String> {
    raw.parse::<usize>()
        .ok()
        .filter(|n| *n >= 1 && *n <= 1000)
        .ok_or_else(|| format!("`{raw}` is not a number from 1"))
}

/// Ids and tokens for the interactions the console makes.
#[derive(Debug)]
pub(crate) struct Session {
    pub(crate) application_id: u64,
    pub(crate) guild_id: u64,
    pub(crate) channel_id: u64,
    next_id: u64,
}

impl Session {
    pub(crate) fn new(application_id: u64, guild_id: u64, channel_id: u64) -> Self {
        Session {
            application_id,
            guild_id,
            channel_id,
            next_id: 1_400_000_000_000_000_000,
        }
    }

    fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// The common fields of every interaction.
    fn envelope(&mut self, kind: u8, persona: &Persona, data: Value) -> Value {
        let id = self.next_id();
        json!({
            "id": id.to_string(),
            "application_id": self.application_id.to_string(),
            "type": kind,
            "token": format!("console-token-{id}"),
            "version": 1,
            "guild_id": self.guild_id.to_string(),
            "channel_id": self.channel_id.to_string(),
            "guild_locale": "en-US",
            "locale": "en-US",
            "app_permissions": "2147601408",
            "context": 0,
            "member": {
                "nick": null,
                "roles": persona.roles.iter().map(u64::to_string).collect::<Vec<_>>(),
                "permissions": persona.permissions.to_string(),
                "user": {
                    "id": persona.user_id.to_string(),
                    "username": format!("dev.{}", persona.name),
                    "global_name": format!("Dev {}", persona.name),
                    "discriminator": "0",
                    "avatar": null
                }
            },
            "data": data,
        })
    }

    /// The APPLICATION_COMMAND interaction for a console command, typed from `registration`.
    pub(crate) fn command(
        &mut self,
        registration: &Value,
        persona: &Persona,
        command: &str,
        words: &[String],
        options: &[(String, String)],
    ) -> Result<Value, String> {
        let commands = registration
            .as_array()
            .ok_or("the registration JSON is not an array")?;
        let spec = commands
            .iter()
            .find(|c| c.get("name").and_then(Value::as_str) == Some(command))
            .ok_or_else(|| {
                let names: Vec<&str> = commands
                    .iter()
                    .filter_map(|c| c.get("name").and_then(Value::as_str))
                    .collect();
                format!("unknown command /{command}; known: /{}", names.join(", /"))
            })?;
        let leaf_options = build_options(spec, words, options, &format!("/{command}"))?;
        let command_id = self.next_id();
        let data = json!({
            "id": command_id.to_string(),
            "name": command,
            "type": 1,
            "guild_id": self.guild_id.to_string(),
            "options": leaf_options,
        });
        Ok(self.envelope(2, persona, data))
    }

    /// The MESSAGE_COMPONENT interaction for a button press or a select pick.
    pub(crate) fn component(
        &mut self,
        persona: &Persona,
        custom_id: &str,
        component_type: u8,
        values: &[String],
    ) -> Value {
        let message_id = self.next_id();
        let mut interaction = self.envelope(
            3,
            persona,
            json!({
                "custom_id": custom_id,
                "component_type": component_type,
                "values": values,
            }),
        );
        if let Some(obj) = interaction.as_object_mut() {
            obj.insert(
                "message".into(),
                json!({"id": message_id.to_string(), "channel_id": self.channel_id.to_string()}),
            );
        }
        interaction
    }
}

/// Walks subcommand groups and subcommands by `words`, then types `options` by the leaf's
/// option definitions. Returns the `data.options` array.
fn build_options(
    node: &Value,
    words: &[String],
    options: &[(String, String)],
    shown: &str,
) -> Result<Value, String> {
    let defined: &[Value] = node
        .get("options")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let nested: Vec<&Value> = defined
        .iter()
        .filter(|o| matches!(o.get("type").and_then(Value::as_u64), Some(1 | 2)))
        .collect();
    if let Some((word, rest)) = words.split_first() {
        let sub = nested
            .iter()
            .find(|o| o.get("name").and_then(Value::as_str) == Some(word.as_str()))
            .ok_or_else(|| {
                format!(
                    "{shown} has no subcommand `{word}`; try: {}",
                    names(&nested).join(", ")
                )
            })?;
        let kind = sub.get("type").cloned().unwrap_or(Value::Null);
        let inner = build_options(sub, rest, options, &format!("{shown} {word}"))?;
        return Ok(json!([{ "name": word, "type": kind, "options": inner }]));
    }
    if !nested.is_empty() {
        return Err(format!(
            "{shown} needs a subcommand: {}",
            names(&nested).join(", ")
        ));
    }
    let mut out = Vec::new();
    for (name, raw) in options {
        let def = defined
            .iter()
            .find(|o| o.get("name").and_then(Value::as_str) == Some(name.as_str()))
            .ok_or_else(|| {
                let known: Vec<&Value> = defined.iter().collect();
                format!(
                    "{shown} has no option `{name}`; options: {}",
                    names(&known).join(", ")
                )
            })?;
        let kind = def.get("type").and_then(Value::as_u64).unwrap_or(3);
        let value = typed_value(kind, raw).map_err(|why| format!("{shown} {name}: {why}"))?;
        out.push(json!({ "name": name, "type": kind, "value": value }));
    }
    for def in defined {
        let required = def
            .get("required")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let name = def.get("name").and_then(Value::as_str).unwrap_or_default();
        if required && !options.iter().any(|(n, _)| n == name) {
            return Err(format!("{shown} needs the option `{name}:`"));
        }
    }
    Ok(Value::Array(out))
}

fn names(options: &[&Value]) -> Vec<String> {
    options
        .iter()
        .filter_map(|o| o.get("name").and_then(Value::as_str).map(str::to_owned))
        .collect()
}

/// A raw console value as Discord would send it for option type `kind`.
fn typed_value(kind: u64, raw: &str) -> Result<Value, String> {
    let mention_id = |raw: &str| -> Result<Value, String> {
        let digits = raw
            .trim_start_matches("<@&")
            .trim_start_matches("<@!")
            .trim_start_matches("<@")
            .trim_start_matches("<#")
            .trim_end_matches('>');
        if !digits.is_empty() && digits.len() <= 20 && digits.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Value::String(digits.to_owned()))
        } else {
            Err(format!(
                "`{raw}` is not an id (digits, or a mention like <@123>)"
            ))
        }
    };
    match kind {
        4 => raw
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| format!("`{raw}` is not a whole number")),
        5 => match raw {
            "true" | "yes" => Ok(Value::Bool(true)),
            "false" | "no" => Ok(Value::Bool(false)),
            _ => Err(format!("`{raw}` is not true or false")),
        },
        6..=9 => mention_id(raw),
        10 => raw
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(Value::from)
            .ok_or_else(|| format!("`{raw}` is not a number")),
        _ => Ok(Value::String(raw.to_owned())),
    }
}

/// Something in a rendered reply that can be pressed or picked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Pressable {
    /// An action button: its custom id.
    Button(String),
    /// A select menu: its custom id and option values.
    Menu {
        custom_id: String,
        values: Vec<String>,
    },
}

/// Renders an interaction response (what the endpoint answered) as text, collecting its
/// buttons and menus.
pub(crate) fn render_response(response: &Value, pressables: &mut Vec<Pressable>) -> String {
    let data = response.get("data").cloned().unwrap_or(Value::Null);
    match response.get("type").and_then(Value::as_u64) {
        Some(1) => "PONG".to_owned(),
        Some(4) => render_message(&data, pressables),
        Some(5) => {
            let private = flags(&data) & 64 != 0;
            format!(
                "… thinking{} (the reply follows as an edit)",
                if private {
                    ", only you will see it"
                } else {
                    ""
                }
            )
        }
        Some(6) => "(click acknowledged; the message will be edited)".to_owned(),
        Some(7) => format!("(message updated)\n{}", render_message(&data, pressables)),
        Some(8) => {
            let choices = data
                .get("choices")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let mut out = String::from("suggestions:");
            for c in choices {
                out.push_str(&format!(
                    "\n  {} = {}",
                    c.get("name").and_then(Value::as_str).unwrap_or_default(),
                    c.get("value").map(Value::to_string).unwrap_or_default()
                ));
            }
            out
        }
        Some(9) => format!(
            "(a form opens: {})",
            data.get("title")
                .and_then(Value::as_str)
                .unwrap_or_default()
        ),
        other => format!("(unexpected response type {other:?})"),
    }
}

fn flags(data: &Value) -> u64 {
    data.get("flags").and_then(Value::as_u64).unwrap_or(0)
}

/// Renders a message body (interaction response data, or a webhook edit) as text.
pub(crate) fn render_message(data: &Value, pressables: &mut Vec<Pressable>) -> String {
    let mut out = String::new();
    if flags(data) & 64 != 0 {
        out.push_str("(only you can see this)\n");
    }
    if let Some(content) = data.get("content").and_then(Value::as_str) {
        out.push_str(content);
        out.push('\n');
    }
    for embed in data
        .get("embeds")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let text = |key: &str| embed.get(key).and_then(Value::as_str);
        if let Some(title) = text("title") {
            out.push_str(&format!("┃ {title}"));
            if let Some(url) = text("url") {
                out.push_str(&format!("  <{url}>"));
            }
            out.push('\n');
        }
        if let Some(description) = text("description") {
            for line in description.lines() {
                out.push_str(&format!("┃ {line}\n"));
            }
        }
        for field in embed
            .get("fields")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            out.push_str(&format!(
                "┃ {}: {}\n",
                field
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default(),
                field
                    .get("value")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
            ));
        }
        if let Some(url) = embed.pointer("/thumbnail/url").and_then(Value::as_str) {
            out.push_str(&format!("┃ thumbnail: {url}\n"));
        }
        if let Some(footer) = embed.pointer("/footer/text").and_then(Value::as_str) {
            out.push_str(&format!("┃ — {footer}\n"));
        }
    }
    for row in data
        .get("components")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        for component in row
            .get("components")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let label = component
                .get("label")
                .and_then(Value::as_str)
                .unwrap_or("(no label)");
            match component.get("type").and_then(Value::as_u64) {
                Some(2) if component.get("style").and_then(Value::as_u64) == Some(5) => {
                    let url = component
                        .get("url")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    out.push_str(&format!("  [link] {label} → {url}\n"));
                }
                Some(2) => {
                    let custom_id = component
                        .get("custom_id")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned();
                    let disabled = component.get("disabled").and_then(Value::as_bool) == Some(true);
                    pressables.push(Pressable::Button(custom_id));
                    out.push_str(&format!(
                        "  [{}] {label}{}\n",
                        pressables.len(),
                        if disabled { " (disabled)" } else { "" }
                    ));
                }
                Some(3) => {
                    let custom_id = component
                        .get("custom_id")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned();
                    let options: Vec<&Value> = component
                        .get("options")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .collect();
                    let values = options
                        .iter()
                        .filter_map(|o| o.get("value").and_then(Value::as_str).map(str::to_owned))
                        .collect();
                    pressables.push(Pressable::Menu { custom_id, values });
                    let menu = pressables.len();
                    out.push_str(&format!(
                        "  menu {menu}: {}\n",
                        component
                            .get("placeholder")
                            .and_then(Value::as_str)
                            .unwrap_or("choose")
                    ));
                    for (i, o) in options.iter().enumerate() {
                        out.push_str(&format!(
                            "    :pick {menu} {} → {}\n",
                            i + 1,
                            o.get("label").and_then(Value::as_str).unwrap_or_default()
                        ));
                    }
                }
                _ => {}
            }
        }
    }
    if out.is_empty() {
        out.push_str("(empty message)");
    }
    out.trim_end().to_owned()
}

/// The console's own help.
pub(crate) const HELP: &str = "\
Type slash commands exactly as in Discord:
  /kaltura meeting start title:\"Weekly sync\" type:webinar
  /kaltura meeting list
  /kaltura video search query:intro
  /kaltura whoami
  /kaltura-admin config explain key:meetings
Then:
  N               press button N of the last reply
  :pick M N       pick option N of menu M
  :as admin | :as moderator | :as member   switch who you are
  :upload \"Intro lecture\"   add a ready video to the fake Kaltura: its webhook reaches the
                  in-process receiver and an \"entry ready\" message appears here
  :help           this help
  :quit           leave the console (the servers keep running until Ctrl-C)";

#[cfg(test)]
mod tests {
    use super::*;

    fn registration() -> Value {
        json!([
            {"name": "kaltura", "type": 1, "description": "d", "options": [
                {"name": "meeting", "type": 2, "description": "d", "options": [
                    {"name": "start", "type": 1, "description": "d", "options": [
                        {"name": "title", "type": 3, "description": "d", "required": true},
                        {"name": "duration", "type": 4, "description": "d"}
                    ]}
                ]},
                {"name": "whoami", "type": 1, "description": "d"}
            ]},
            {"name": "kaltura-admin", "type": 1, "description": "d", "options": [
                {"name": "identity", "type": 2, "description": "d", "options": [
                    {"name": "show", "type": 1, "description": "d", "options": [
                        {"name": "member", "type": 6, "description": "d", "required": true}
                    ]}
                ]}
            ]}
        ])
    }

    #[test]
    fn tokenizes_quotes_and_escapes() {
        assert_eq!(
            tokenize(r#"kaltura meeting start title:"Weekly \"big\" sync" type:'web inar'"#)
                .unwrap(),
            vec![
                "kaltura",
                "meeting",
                "start",
                "title:Weekly \"big\" sync",
                "type:web inar"
            ]
        );
        assert_eq!(tokenize("  a   b ").unwrap(), vec!["a", "b"]);
        assert_eq!(tokenize(r#"x:"""#).unwrap(), vec!["x:"]);
        assert!(tokenize(r#"title:"open"#).unwrap_err().contains("unclosed"));
    }

    #[test]
    fn parses_console_lines() {
        assert_eq!(parse_line("   ").unwrap(), Input::Empty);
        assert_eq!(parse_line("2").unwrap(), Input::Press(2));
        assert_eq!(parse_line(":press 3").unwrap(), Input::Press(3));
        assert_eq!(
            parse_line(":pick 1 2").unwrap(),
            Input::Pick { menu: 1, option: 2 }
        );
        assert_eq!(
            parse_line(":as member").unwrap(),
            Input::As("member".into())
        );
        assert_eq!(parse_line(":quit").unwrap(), Input::Quit);
        assert_eq!(
            parse_line(r#":upload "Intro lecture""#).unwrap(),
            Input::Upload("Intro lecture".into())
        );
        assert!(parse_line(":upload").is_err());
        assert!(parse_line(r#":upload """#).is_err());
        assert!(parse_line(":upload Intro lecture").is_err());
        assert!(parse_line("0").is_err());
        assert!(parse_line(":dance").is_err());
        assert!(parse_line("hello").is_err());
        assert!(parse_line("/").is_err());
        assert_eq!(
            parse_line(r#"/kaltura meeting start title:"Weekly sync" duration:30"#).unwrap(),
            Input::Command {
                command: "kaltura".into(),
                words: vec!["meeting".into(), "start".into()],
                options: vec![
                    ("title".into(), "Weekly sync".into()),
                    ("duration".into(), "30".into())
                ],
            }
        );
        assert!(parse_line("/kaltura title:x meeting").is_err());
    }

    #[test]
    fn builds_typed_command_interactions() {
        let mut session = Session::new(11, 22, 33);
        let admin = Persona::named("admin").unwrap();
        let v = session
            .command(
                &registration(),
                &admin,
                "kaltura",
                &["meeting".into(), "start".into()],
                &[
                    ("title".into(), "Sync".into()),
                    ("duration".into(), "30".into()),
                ],
            )
            .unwrap();
        assert_eq!(v["type"], 2);
        assert_eq!(v["guild_id"], "22");
        assert_eq!(v["member"]["user"]["id"], admin.user_id.to_string());
        assert_eq!(v["member"]["permissions"], ADMIN_PERMISSIONS.to_string());
        let group = &v["data"]["options"][0];
        assert_eq!(group["name"], "meeting");
        assert_eq!(group["type"], 2);
        let sub = &group["options"][0];
        assert_eq!(sub["name"], "start");
        assert_eq!(
            sub["options"][0],
            json!({"name": "title", "type": 3, "value": "Sync"})
        );
        assert_eq!(
            sub["options"][1],
            json!({"name": "duration", "type": 4, "value": 30})
        );

        let v = session
            .command(
                &registration(),
                &admin,
                "kaltura-admin",
                &["identity".into(), "show".into()],
                &[("member".into(), "<@!123456789012345678>".into())],
            )
            .unwrap();
        assert_eq!(
            v["data"]["options"][0]["options"][0]["options"][0]["value"],
            "123456789012345678"
        );
    }

    #[test]
    fn explains_what_is_wrong_with_a_command() {
        let mut s = Session::new(11, 22, 33);
        let p = Persona::named("member").unwrap();
        let reg = registration();
        let mut err = |cmd: &str, words: &[&str], opts: &[(&str, &str)]| {
            let words: Vec<String> = words.iter().map(|w| (*w).to_owned()).collect();
            let opts: Vec<(String, String)> = opts
                .iter()
                .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
                .collect();
            s.command(&reg, &p, cmd, &words, &opts).unwrap_err()
        };
        assert!(err("nope", &[], &[]).contains("unknown command /nope"));
        assert!(err("kaltura", &[], &[]).contains("needs a subcommand: meeting, whoami"));
        assert!(err("kaltura", &["meeting", "fly"], &[]).contains("no subcommand `fly`"));
        assert!(err("kaltura", &["meeting", "start"], &[]).contains("needs the option `title:`"));
        assert!(
            err(
                "kaltura",
                &["meeting", "start"],
                &[("title", "x"), ("duration", "soon")]
            )
            .contains("not a whole number")
        );
        assert!(
            err("kaltura", &["meeting", "start"], &[("color", "red")])
                .contains("no option `color`")
        );
        assert!(
            err(
                "kaltura-admin",
                &["identity", "show"],
                &[("member", "../../etc")]
            )
            .contains("not an id")
        );
    }

    #[test]
    fn renders_messages_with_numbered_buttons() {
        let response = json!({"type": 4, "data": {
            "flags": 64,
            "content": "Meeting started",
            "embeds": [{"title": "Weekly sync", "url": "https://example.test/m/1",
                        "description": "line 1\nline 2",
                        "fields": [{"name": "Type", "value": "webinar"}],
                        "thumbnail": {"url": "https://example.test/t.jpg"},
                        "footer": {"text": "Kaltura"}}],
            "components": [{"type": 1, "components": [
                {"type": 2, "style": 1, "label": "Join", "custom_id": "kd1:join:1"},
                {"type": 2, "style": 5, "label": "Page", "url": "https://example.test/p"},
                {"type": 2, "style": 4, "label": "End", "custom_id": "kd1:end:1", "disabled": true}
            ]}, {"type": 1, "components": [
                {"type": 3, "custom_id": "kd1:pick", "placeholder": "Share a video",
                 "options": [{"label": "Intro", "value": "0_a"}, {"label": "Demo", "value": "0_b"}]}
            ]}]
        }});
        let mut pressables = Vec::new();
        let text = render_response(&response, &mut pressables);
        assert_eq!(
            text,
            "(only you can see this)\nMeeting started\n┃ Weekly sync  <https://example.test/m/1>\n┃ line 1\n┃ line 2\n┃ Type: webinar\n┃ thumbnail: https://example.test/t.jpg\n┃ — Kaltura\n  [1] Join\n  [link] Page → https://example.test/p\n  [2] End (disabled)\n  menu 3: Share a video\n    :pick 3 1 → Intro\n    :pick 3 2 → Demo"
        );
        assert_eq!(
            pressables,
            vec![
                Pressable::Button("kd1:join:1".into()),
                Pressable::Button("kd1:end:1".into()),
                Pressable::Menu {
                    custom_id: "kd1:pick".into(),
                    values: vec!["0_a".into(), "0_b".into()]
                }
            ]
        );
        let mut none = Vec::new();
        assert_eq!(
            render_response(&json!({"type": 5, "data": {"flags": 64}}), &mut none),
            "… thinking, only you will see it (the reply follows as an edit)"
        );
        assert_eq!(render_response(&json!({"type": 1}), &mut none), "PONG");
        assert_eq!(
            render_response(&json!({"type": 4, "data": {}}), &mut none),
            "(empty message)"
        );
    }

    #[test]
    fn component_interactions_carry_the_custom_id_and_message() {
        let mut s = Session::new(11, 22, 33);
        let v = s.component(&Persona::named("member").unwrap(), "kd1:join:7", 2, &[]);
        assert_eq!(v["type"], 3);
        assert_eq!(v["data"]["custom_id"], "kd1:join:7");
        assert_eq!(v["data"]["component_type"], 2);
        assert!(v["message"]["id"].as_str().is_some());
        assert_ne!(v["id"], v["message"]["id"]);
    }
}
