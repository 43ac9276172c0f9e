//! Secret redaction: every secret value is replaced by `********` in a
//! report (commands, outputs, messages, exports) and in events, before any
//! reporter, report file or the history store sees them. Redacting the
//! finished data rather than each printer means a new format cannot forget.

use serde_json::Value;

use crate::event::Event;
use crate::results::{Captured, HostReport, RuleFailure, RunReport, StepReport};

pub const MASK: &str = "********";

/// The secret values of one run, longest first so a secret containing
/// another is masked whole.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    values: Vec<String>,
}

impl Redactor {
    /// Empty values are ignored (masking "" would mask nothing and loop).
    pub fn new(values: impl IntoIterator<Item = String>) -> Self {
        let mut values: Vec<String> = values.into_iter().filter(|v| !v.is_empty()).collect();
        values.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
        values.dedup();
        Redactor { values }
    }

    /// The string form a secret takes in a rendered command: strings as
    /// they are, other JSON values as JSON.
    pub fn value_text(value: &Value) -> String {
        match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    pub fn text(&self, text: &mut String) {
        for v in &self.values {
            if text.contains(v.as_str()) {
                *text = text.replace(v.as_str(), MASK);
            }
        }
    }

    fn opt(&self, text: &mut Option<String>) {
        if let Some(t) = text {
            self.text(t);
        }
    }

    fn captured(&self, c: &mut Captured) {
        self.text(&mut c.text);
    }

    fn rules(&self, failures: &mut [RuleFailure]) {
        for f in failures {
            self.text(&mut f.expected);
            self.opt(&mut f.message);
            self.text(&mut f.seen);
        }
    }

    fn json(&self, value: &mut Value) {
        match value {
            Value::String(s) => self.text(s),
            Value::Array(items) => items.iter_mut().for_each(|v| self.json(v)),
            Value::Object(map) => map.values_mut().for_each(|v| self.json(v)),
            _ => {}
        }
    }

    pub fn step(&self, s: &mut StepReport) {
        if self.is_empty() {
            return;
        }
        self.text(&mut s.command);
        self.captured(&mut s.stdout);
        self.captured(&mut s.stderr);
        self.opt(&mut s.reason);
        self.rules(&mut s.failures);
    }

    pub fn report(&self, r: &mut RunReport) {
        if self.is_empty() {
            return;
        }
        r.local.iter_mut().for_each(|s| self.step(s));
        r.hosts.iter_mut().for_each(|h| self.host(h));
        for c in &mut r.fleet_checks {
            self.rules(&mut c.failures);
            self.opt(&mut c.reason);
        }
    }

    pub fn host(&self, h: &mut HostReport) {
        h.steps.iter_mut().for_each(|s| self.step(s));
        if let Some(u) = &mut h.unreachable {
            self.text(&mut u.message);
        }
        self.opt(&mut h.refused);
        h.exports.values_mut().for_each(|v| self.json(v));
    }

    /// A redacted copy of an event, for the live display.
    pub fn event(&self, e: &Event) -> Event {
        let mut e = e.clone();
        match &mut e {
            Event::StepFinished { step, .. } => self.step(step),
            Event::HostFinished { host } => self.host(host),
            Event::RunFinished { report } => self.report(report),
            _ => {}
        }
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Format, fixture, render};

    #[test]
    fn secrets_vanish_from_every_format() -> Result<(), crate::report::ReportError> {
        let mut run = fixture::mixed_run();
        let secret = "s3cr3t-T0ken";
        run.hosts[1].steps[0].command = format!("curl -H 'X-Token: {secret}' /");
        run.hosts[1].steps[0]
            .stdout
            .text
            .push_str(&format!("token={secret}\n"));
        run.hosts[1].steps[0].failures[0].seen = format!("{secret}!");
        run.hosts[1].exports.insert("t".into(), secret.into());
        let r = Redactor::new(["s3cr3t".to_string(), secret.to_string(), String::new()]);
        r.report(&mut run);
        for f in [Format::Json, Format::Junit, Format::Md, Format::Html] {
            let text = render(&run, f)?;
            assert!(!text.contains("s3cr3t"), "{f:?} leaks");
            if f != Format::Md {
                assert!(text.contains(MASK), "{f:?} shows where");
            }
        }
        Ok(())
    }
}
