//! The summary's later sections: fleet checks, hosts that were not
//! checked (refused, unreachable), warnings, waived and not-configured
//! steps, and the totals.

use super::*;

impl Summary {
    /// Failed and warned fleet checks with every rule that broke; passed
    /// ones are only counted in the totals.
    pub(super) fn fleet_checks(&mut self, checks: &[FleetCheckReport]) {
        let p = self.paint;
        for check in checks {
            let (mark, warned) = match check.status {
                StepStatus::Passed | StepStatus::Skipped => continue,
                StepStatus::Warned => (p.yellow("!"), true),
                _ => (p.red("✗"), false),
            };
            self.blank();
            let head = format!(
                "{mark} fleet check {}  {}",
                p.bold(&sanitize::line(&check.name)),
                status_word(check.status, p)
            );
            self.line(0, &head);
            for rule in &check.failures {
                // In a failed check, `!` tells the warnings from the failures.
                let bullet = match rule.severity {
                    Severity::Warn if !warned => "! ",
                    _ => "• ",
                };
                self.rule(2, bullet, rule, seen_lines(&rule.seen, p));
            }
            if let Some(reason) = &check.reason {
                self.field(2, "reason", &[message(reason)]);
            }
        }
    }

    /// Hosts the workflow must never touch, grouped by reason. Red: the
    /// selection included hosts it should not have, which the operator
    /// must see even when everything else passed.
    pub(super) fn refused(&mut self, hosts: &[HostReport]) {
        let p = self.paint;
        let items: Vec<(&str, &str)> = hosts
            .iter()
            .filter(|h| h.status == HostStatus::Refused)
            .map(|h| {
                (
                    h.name.as_str(),
                    h.refused.as_deref().unwrap_or("no reason recorded"),
                )
            })
            .collect();
        if items.is_empty() {
            return;
        }
        self.blank();
        let found = variants(items);
        for (names, why) in found.iter().take(MAX_REFUSALS) {
            let line = format!(
                "{} {} {}: {}",
                p.red("✗"),
                p.red("REFUSED"),
                p.bold(&host_list(names)),
                message(why)
            );
            self.line(0, &line);
        }
        if let Some(rest) = found.get(MAX_REFUSALS..).filter(|r| !r.is_empty()) {
            let hosts: usize = rest.iter().map(|(n, _)| n.len()).sum();
            let note = format!("… {} refused for other reasons", plural(hosts, "more host"));
            self.line(2, &p.dim(&note));
        }
    }

    /// Unreachable hosts grouped by cause, because the cause decides the
    /// fix (start sshd, update known_hosts, fix keys) for the whole group.
    pub(super) fn unreachable(&mut self, hosts: &[HostReport]) {
        let mut groups: Vec<(UnreachableKind, Vec<(&str, &str)>)> = Vec::new();
        for h in hosts {
            let Some(u) = &h.unreachable else { continue };
            let entry = (h.name.as_str(), u.message.as_str());
            match groups.iter_mut().find(|(k, _)| *k == u.kind) {
                Some((_, members)) => members.push(entry),
                None => groups.push((u.kind, vec![entry])),
            }
        }
        if groups.is_empty() {
            return;
        }
        let p = self.paint;
        let count: usize = groups.iter().map(|(_, m)| m.len()).sum();
        self.blank();
        let head = format!("{} unreachable", plural(count, "host"));
        self.line(0, &format!("{} {}", p.yellow("✗"), p.bold(&head)));
        for (kind, members) in &groups {
            let names: Vec<&str> = members.iter().map(|(n, _)| *n).collect();
            self.line(
                2,
                &format!("{}: {}", p.yellow(kind.as_str()), host_list(&names)),
            );
            let first = members[0].1;
            if members.iter().all(|(_, m)| *m == first) {
                self.line(4, &p.dim(&message(first)));
                continue;
            }
            for (name, msg) in members.iter().take(MAX_UNREACHABLE_MESSAGES) {
                self.line(
                    4,
                    &p.dim(&format!("{}: {}", sanitize::line(name), message(msg))),
                );
            }
            if members.len() > MAX_UNREACHABLE_MESSAGES {
                let more = members.len() - MAX_UNREACHABLE_MESSAGES;
                self.line(4, &p.dim(&format!("… {more} more in the JSON report")));
            }
        }
    }

    /// One line per distinct warning, `! db-9 data: /data is 72% full`:
    /// warnings never fail the run, so they come last and stay compact
    /// (the rule's message was written for exactly this line).
    pub(super) fn warnings(&mut self, warnings: &[Warning]) {
        if warnings.is_empty() {
            return;
        }
        let p = self.paint;
        self.blank();
        for w in warnings.iter().take(MAX_WARNINGS) {
            let names: Vec<&str> = w.sites.iter().map(|s| s.name).collect();
            let mut what = match &w.rule.message {
                Some(m) => message(m),
                None => format!("expected {}", message(&w.rule.expected)),
            };
            // Without a message, what was seen is the finding; quoted only
            // when it is one value for every host listed.
            if w.rule.message.is_none() && w.seen.iter().all(|s| *s == w.seen[0]) {
                what.push_str(&format!(", seen {}", first_line(w.seen[0], 80)));
            }
            let line = format!(
                "{} {} {}: {what}",
                p.yellow("!"),
                host_list(&names),
                p.bold(w.step)
            );
            self.line(0, &line);
        }
        if warnings.len() > MAX_WARNINGS {
            let more = warnings.len() - MAX_WARNINGS;
            let note = format!("… {} in the JSON report", plural(more, "more warning"));
            self.line(2, &p.dim(&note));
        }
    }

    /// Failures a waiver accepted: not problems, but never out of sight,
    /// with the reason and the days the waiver has left.
    pub(super) fn waived(&mut self, report: &RunReport) {
        for (i, (host, step)) in crate::report::waived::waived_steps(report).enumerate() {
            if i == 0 {
                self.blank();
            }
            let [head, note] =
                crate::report::waived::summary_lines(host, step, self.paint, message);
            self.line(0, &head);
            self.line(2, &note);
        }
    }

    /// Steps skipped because a `requires` variable is unset, and parts of
    /// `hosts`/`--limit` that matched no host: nothing failed, but part of
    /// the checklist did not run, and a skip must never read as a pass.
    pub(super) fn not_configured(&mut self, report: &RunReport) {
        let mut skips: Vec<(&str, &str, Vec<&str>)> = Vec::new();
        for (host, step) in report.steps_by_host() {
            let Some(reason) = step
                .reason
                .as_deref()
                .filter(|r| step.status == StepStatus::Skipped && r.starts_with("not configured"))
            else {
                continue;
            };
            match skips
                .iter_mut()
                .find(|(name, why, _)| *name == step.name && *why == reason)
            {
                Some((_, _, hosts)) => hosts.push(host),
                None => skips.push((&step.name, reason, vec![host])),
            }
        }
        if skips.is_empty() && report.warnings.is_empty() {
            return;
        }
        let p = self.paint;
        self.blank();
        for warning in &report.warnings {
            self.line(0, &format!("{} {}", p.yellow("!"), message(warning)));
        }
        for (step, reason, hosts) in skips.iter().take(MAX_WARNINGS) {
            let line = format!(
                "{} {} {}: SKIPPED, {}",
                p.dim("-"),
                host_list(hosts),
                p.bold(step),
                message(reason)
            );
            self.line(0, &line);
        }
    }

    /// The verdict first, then only the non-zero counts (plus `ok` and
    /// `passed`), so a healthy run reads `PASSED  hosts 3 ok · steps 9
    /// passed`; fleet checks appear only when the workflow has some.
    pub(super) fn totals(&mut self, t: &Totals) {
        let p = self.paint;
        let verdict = Verdict::from_totals(t);
        let mut word = match verdict {
            Verdict::Passed => p.green(verdict.as_str()).into_owned(),
            Verdict::Failed | Verdict::Refused => p.red(verdict.as_str()).into_owned(),
            Verdict::Unreachable | Verdict::Incomplete => p.yellow(verdict.as_str()).into_owned(),
        };
        let warnings = t.steps_warned + t.fleet_checks_warned;
        if verdict == Verdict::Passed && warnings > 0 {
            let with = format!("with {}", plural(warnings, "warning"));
            word.push_str(&format!(" {}", p.yellow(&with)));
        }
        let hosts = counts(&[
            (t.hosts_ok, "ok"),
            (t.hosts_warned, "warned"),
            (t.hosts_failed, "failed"),
            (t.hosts_unreachable, "unreachable"),
            (t.hosts_refused, "refused"),
            (t.hosts_skipped, "not run"),
        ]);
        let steps = counts(&[
            (t.steps_passed, "passed"),
            (t.steps_warned, "warned"),
            (t.steps_failed, "failed"),
            (t.steps_timeout, "timeout"),
            (t.steps_error, "error"),
            (t.steps_skipped, "skipped"),
            (t.steps_waived, "waived"),
        ]);
        let mut line = format!("{word}  hosts {hosts} · steps {steps}");
        let checks = [
            (t.fleet_checks_passed, "passed"),
            (t.fleet_checks_warned, "warned"),
            (t.fleet_checks_failed, "failed"),
            (t.fleet_checks_skipped, "skipped"),
            (t.fleet_checks_waived, "waived"),
        ];
        if checks.iter().any(|(n, _)| *n > 0) {
            let checks = counts(&checks);
            line.push_str(&format!(" · fleet checks {checks}"));
        }
        self.blank();
        self.line(0, &line);
    }
}
