//! packem_parse
