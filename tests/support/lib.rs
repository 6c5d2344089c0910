//! Shared helpers for packem integration tests.
