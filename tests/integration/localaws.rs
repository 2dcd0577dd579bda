//! Tests of the local AWS launcher through the Rust SDK.
