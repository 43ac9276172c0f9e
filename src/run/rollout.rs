//! Rolling out over hosts in batches (`serial`) and deciding when to stop
//! (`max-failures`, `--fail-fast`). Pure arithmetic and verdicts; the
//! executor does the running.

use std::ops::Range;

use crate::model::report::{HostReport, HostStatus};
use crate::model::{BatchSize, FailureLimit};

/// Index ranges into the plan's hosts, one per batch, covering every host
/// in order. Without `serial` all hosts form one batch; the last size
/// repeats until the hosts run out.
pub fn batches(serial: &[BatchSize], total: usize) -> Vec<Range<usize>> {
    if serial.is_empty() {
        return std::iter::once(0..total).collect();
    }
    let mut out = Vec::new();
    let mut start = 0;
    let mut sizes = serial.iter().copied();
    let mut last = serial[0];
    while start < total {
        let size = sizes.next().unwrap_or(last);
        last = size;
        let end = (start + size.of(total)).min(total);
        out.push(start..end);
        start = end;
    }
    out
}

/// A host that counts against `max-failures` and `--fail-fast`: one that
/// failed a step or could not be checked.
pub fn host_failed(host: &HostReport) -> bool {
    matches!(host.status, HostStatus::Failed | HostStatus::Unreachable)
}

/// Why the rollout stops before batch `next` (0-based), or `None` to go on.
pub fn threshold_reason(
    limit: Option<FailureLimit>,
    done: &[&HostReport],
    next: usize,
) -> Option<String> {
    let limit = limit.unwrap_or(FailureLimit::Hosts(0));
    let failed = done.iter().filter(|h| host_failed(h)).count();
    if !limit.exceeded(failed, done.len()) {
        return None;
    }
    let allowed = match limit {
        FailureLimit::Hosts(n) => format!("{n}"),
        FailureLimit::Percent(p) => format!("{p}%"),
    };
    Some(format!(
        "rollout stopped before batch {}: {failed} of {} hosts failed (max-failures {allowed})",
        next + 1,
        done.len()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_serial_is_one_batch() {
        let all = batches(&[], 5);
        assert_eq!((all.len(), all.first().cloned()), (1, Some(0..5)));
    }

    #[test]
    fn canary_then_quarters_then_the_rest() {
        let serial = [
            BatchSize::Hosts(1),
            BatchSize::Percent(25),
            BatchSize::Percent(100),
        ];
        assert_eq!(batches(&serial, 10), vec![0..1, 1..3, 3..10]);
    }

    #[test]
    fn the_last_size_repeats() {
        assert_eq!(batches(&[BatchSize::Hosts(2)], 5), vec![0..2, 2..4, 4..5]);
    }

    #[test]
    fn a_tiny_percentage_is_still_one_host() {
        assert_eq!(batches(&[BatchSize::Percent(1)], 3), vec![0..1, 1..2, 2..3]);
    }

    #[test]
    fn limits_count_hosts_or_shares() {
        assert!(FailureLimit::Hosts(0).exceeded(1, 1));
        assert!(!FailureLimit::Hosts(1).exceeded(1, 4));
        assert!(!FailureLimit::Percent(25).exceeded(1, 4));
        assert!(FailureLimit::Percent(25).exceeded(2, 4));
    }
}
