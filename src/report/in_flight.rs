//! The hosts in flight, for the live display: oldest first, each with the
//! step it is running. Every operation is O(log n): on a 5,000-host run a
//! linear search per event (25,000 step events) was a measurable share of
//! the controller's CPU (bench/RESULTS.md, 7).

use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Default)]
pub(super) struct InFlight {
    /// By start order: host and step (`None` while connecting).
    order: BTreeMap<u64, (String, Option<String>)>,
    /// Host name → its key in `order`.
    by_host: HashMap<String, u64>,
    next: u64,
}

impl InFlight {
    pub(super) fn started(&mut self, host: &str) {
        let key = self.next;
        self.next += 1;
        if let Some(old) = self.by_host.insert(host.to_string(), key) {
            self.order.remove(&old);
        }
        self.order.insert(key, (host.to_string(), None));
    }

    pub(super) fn step(&mut self, host: &str, step: &str) {
        if let Some(entry) = self.by_host.get(host).and_then(|k| self.order.get_mut(k)) {
            entry.1 = Some(step.to_string());
        }
    }

    pub(super) fn finished(&mut self, host: &str) {
        if let Some(key) = self.by_host.remove(host) {
            self.order.remove(&key);
        }
    }

    /// The host that has been in flight longest, and its step.
    pub(super) fn oldest(&self) -> Option<(&str, Option<&str>)> {
        self.order
            .values()
            .next()
            .map(|(host, step)| (host.as_str(), step.as_deref()))
    }

    pub(super) fn len(&self) -> usize {
        self.order.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_host_still_running_is_shown_with_its_step() {
        let mut hosts = InFlight::default();
        assert_eq!(hosts.oldest(), None);
        hosts.started("a");
        hosts.started("b");
        hosts.step("b", "disk");
        assert_eq!(hosts.oldest(), Some(("a", None)));
        hosts.step("a", "uptime");
        assert_eq!(hosts.oldest(), Some(("a", Some("uptime"))));
        hosts.finished("a");
        assert_eq!(hosts.oldest(), Some(("b", Some("disk"))));
        assert_eq!(hosts.len(), 1);
        // Unknown hosts change nothing.
        hosts.step("zz", "x");
        hosts.finished("zz");
        assert_eq!(hosts.len(), 1);
        hosts.finished("b");
        assert_eq!(hosts.oldest(), None);
    }

    #[test]
    fn a_host_started_again_moves_to_the_back() {
        let mut hosts = InFlight::default();
        hosts.started("a");
        hosts.started("b");
        hosts.started("a");
        assert_eq!(hosts.len(), 2);
        assert_eq!(hosts.oldest(), Some(("b", None)));
    }
}
