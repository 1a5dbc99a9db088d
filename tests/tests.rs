//! Cross-crate tests of the kaltura-discord workspace: one test binary, one module per area.

mod errors;
mod journey;
