//! The commands as data, and the registration JSON generated from them.

/// The registration body for Discord's bulk overwrite: a JSON array of commands, checked
/// against Discord's limits when it was built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    json: String,
}

impl Registration {
    /// The JSON array, as sent to Discord.
    pub fn as_json(&self) -> &str {
        &self.json
    }
}
