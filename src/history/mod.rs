//! Run history: every `fleet run` is kept on disk so the next run can say
//! what changed, `fleet history` can list runs, `fleet diff` compare two,
//! `fleet report` render an old one again and `--rerun` target the hosts
//! that failed last time. Works on [`RunReport`](crate::model::report::RunReport)s
//! only; it knows nothing of SSH or terminals.

mod diff;
mod store;
mod trend;

pub use diff::{Change, NumberChange, RunDiff, diff};
pub use store::{
    DEFAULT_KEEP, HistoryError, PRIVATE_DIR_MODE, Retention, RunMeta, Store, content_hash,
    current_user,
};
pub use trend::{
    HostSeries, RunExports, Trend, TrendRun, all_trends, numeric_names, recent_exports, trend,
};
