//! packem_resolve
