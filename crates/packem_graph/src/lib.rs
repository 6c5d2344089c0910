//! packem_graph
