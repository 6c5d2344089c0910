//! packem_host
