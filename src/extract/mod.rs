//! Output parsers: turn a step's stdout into structured data that rules and
//! templates can inspect (`serde_json::Value`, hand it to minijinja with
//! `minijinja::Value::from_serialize`).
//!
//! Pure text → data; no SSH, no KDL. Pick an [`Extractor`] and call
//! [`extract`]. Every cell and value is a *string*: conversion to numbers,
//! sizes, durations or dates is the job of the expression helpers in
//! [`crate::expr`], so a rule says what it means (`row.Capacity | number`).

mod error;
mod extractor;
mod key_value;
mod limits;
mod regex_capture;
mod table;
mod table_layout;

pub use error::ExtractError;
pub use extractor::{Extractor, RegexBuildError, extract};
pub use limits::{
    JSON_OBJECT_WEIGHT, Limit, MAX_JSON_DEPTH, MAX_JSON_VALUES, MAX_KV_ENTRIES, MAX_LINES,
    MAX_REGEX_MATCHES, MAX_TABLE_CELLS, MAX_TABLE_COLUMNS, MAX_TABLE_ROWS,
};
pub use table::TableOptions;
