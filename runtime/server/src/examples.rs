//! Example flows for `assent serve`.
