//! placeholder, replaced by the KS module
