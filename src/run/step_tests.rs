//! The step runner against a fake command runner: retry, `until`,
//! `on-failure "stop-host"`'s status, skips, exports and timeouts, without
//! SSH.
