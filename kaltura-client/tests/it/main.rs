//! Integration tests of kaltura-client: one binary, one module per area.
