//! Everything the operator sees: the live progress display (stderr), the
//! final summary (stdout) and the JSON report (file). Reporters consume the
//! executor's [`Event`](crate::run::event::Event)s and
//! [`RunReport`](crate::model::report::RunReport) and know nothing of SSH.

mod adhoc;
mod changes;
mod format;
mod groups;
mod html;
mod in_flight;
mod json;
mod junit;
mod markdown;
pub mod nagios;
mod plan;
mod progress;
mod prometheus;
mod redact;
pub mod sanitize;
mod style;
mod summary;
mod tap;
mod trend;
mod waived;

pub use adhoc::{render_grouped, render_ping};
pub use changes::{render_changes, render_diff};
pub use format::{Format, ReportTarget, render, write_report};
pub use html::to_html_with_trends;
pub use json::{ReportError, to_json, write_json};
pub use nagios::{nagios_code, to_nagios};
pub use plan::render_plan;
pub use progress::Progress;
pub use redact::{MASK, Redactor};
pub use style::DisplayConfig;
pub use summary::render_summary;
pub use trend::{render_trend, trend_csv, trend_json, write_html_with_trends};
