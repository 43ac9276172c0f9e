//! Secret redaction: every secret value is replaced by `********` in a
//! report (commands, outputs, messages, exports) and in events, before any
//! reporter, report file or the history store sees them. Redacting the
//! finished data rather than each printer means a new format cannot forget.
//!
//! Captured output is masked in its raw bytes: when a stream was not valid
//! UTF-8 its exact bytes travel as `base64`, and those are decoded, masked
//! and encoded again (the `text` is then derived from the masked bytes), so
//! no encoding of the output can carry a secret past the mask.

use serde_json::Value;

use crate::model::report::{Captured, HostReport, RuleFailure, RunReport, StepReport};
use crate::run::event::Event;

pub const MASK: &str = "********";

/// The shortest value fleet accepts as a secret. Masking a shorter one
/// would replace every occurrence of those few characters in all output
/// (a one-character secret `e` turns every report into asterisks) while
/// a value that short protects nothing anyway.
pub const MIN_SECRET_CHARS: usize = 4;

/// A value marked secret that is too short to be masked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "secret `{name}` is {chars} character(s) long; a secret must have at least {MIN_SECRET_CHARS} \
     (masking a shorter one would mask those characters everywhere in the output): use a longer \
     value, or do not mark `{name}` secret"
)]
pub struct SecretTooShort {
    pub name: String,
    pub chars: usize,
}

/// The secret values of one run, longest first so a secret containing
/// another is masked whole.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    values: Vec<String>,
}

impl Redactor {
    /// Empty values are ignored (masking "" would mask nothing and loop).
    /// Each value is also masked in the form a command shows it in: shell
    /// quoting writes a `'` as `'\''`, which would otherwise hide the
    /// secret from a plain search.
    pub fn new(values: impl IntoIterator<Item = String>) -> Self {
        let mut all = Vec::new();
        for v in values.into_iter().filter(|v| !v.is_empty()) {
            let quoted = crate::expr::shell::quote(&v).into_owned();
            let inner = v.replace('\'', r"'\''");
            all.push(v);
            all.push(quoted);
            all.push(inner);
        }
        let mut values = all;
        values.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
        values.dedup();
        Redactor { values }
    }

    /// [`Redactor::new`] for named secrets, refusing any shorter than
    /// [`MIN_SECRET_CHARS`] with an error that names it (never shows it).
    pub fn for_secrets<'a>(
        named: impl IntoIterator<Item = (&'a str, String)>,
    ) -> Result<Self, SecretTooShort> {
        let mut values = Vec::new();
        for (name, value) in named {
            let chars = value.chars().count();
            if chars < MIN_SECRET_CHARS {
                return Err(SecretTooShort {
                    name: name.to_owned(),
                    chars,
                });
            }
            values.push(value);
        }
        Ok(Self::new(values))
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

    /// Masks every secret in raw bytes.
    pub fn bytes(&self, bytes: &[u8]) -> Vec<u8> {
        let mut out = bytes.to_vec();
        for v in &self.values {
            let needle = v.as_bytes();
            if out.windows(needle.len()).any(|w| w == needle) {
                let mut next = Vec::with_capacity(out.len());
                let mut rest = &out[..];
                while let Some(at) = rest.windows(needle.len()).position(|w| w == needle) {
                    next.extend_from_slice(&rest[..at]);
                    next.extend_from_slice(MASK.as_bytes());
                    rest = &rest[at + needle.len()..];
                }
                next.extend_from_slice(rest);
                out = next;
            }
        }
        out
    }

    fn opt(&self, text: &mut Option<String>) {
        if let Some(t) = text {
            self.text(t);
        }
    }

    /// The raw bytes first (`base64`, when the output was not UTF-8),
    /// with `text` derived again from the masked bytes; else the text.
    fn captured(&self, c: &mut Captured) {
        let raw = c
            .base64
            .as_deref()
            .and_then(|b| data_encoding::BASE64.decode(b.as_bytes()).ok());
        match raw {
            Some(raw) => {
                let masked = self.bytes(&raw);
                c.text = String::from_utf8_lossy(&masked).into_owned();
                // The lossy text can join pieces a replacement character
                // separated; mask it as text too.
                self.text(&mut c.text);
                c.base64 = Some(data_encoding::BASE64.encode(&masked));
            }
            None if c.base64.is_some() => {
                // Not decodable: never keep what cannot be checked.
                c.base64 = None;
                self.text(&mut c.text);
            }
            None => self.text(&mut c.text),
        }
    }

    fn rules(&self, failures: &mut [RuleFailure]) {
        for f in failures {
            self.text(&mut f.expected);
            self.opt(&mut f.message);
            self.text(&mut f.seen);
        }
    }

    /// Masks secrets in every string of a JSON value.
    pub fn json(&self, value: &mut Value) {
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
        self.opt(&mut r.stopped);
        r.local.iter_mut().for_each(|s| self.step(s));
        r.local_exports.values_mut().for_each(|v| self.json(v));
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
        self.opt(&mut h.not_run);
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
    use crate::model::fixture;
    use crate::report::{Format, render};

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

    /// Issue 12: a secret next to one non-UTF-8 byte was masked in `text`
    /// but written in clear inside `base64`.
    #[test]
    fn secrets_vanish_from_the_raw_bytes_of_binary_output() -> Result<(), crate::report::ReportError>
    {
        let secret = "s3cr3t-T0ken";
        let mut run = fixture::mixed_run();
        let mut capture = crate::model::output::Capture::new(1 << 16);
        capture.push(b"\xfftoken=");
        capture.push(secret.as_bytes());
        capture.push(b"\n");
        run.hosts[1].steps[0].stdout = capture.finish();
        let before = run.hosts[1].steps[0]
            .stdout
            .base64
            .clone()
            .unwrap_or_default();
        assert!(
            decoded_contains(&before, secret),
            "the attack needs the secret in base64"
        );
        Redactor::new([secret.to_string()]).report(&mut run);
        let after = &run.hosts[1].steps[0].stdout;
        let b64 = after.base64.as_deref().unwrap_or_default();
        assert!(!decoded_contains(b64, secret));
        assert!(decoded_contains(b64, MASK), "the mask is in the bytes");
        assert_eq!(after.text, format!("\u{fffd}token={MASK}\n"));
        let json = render(&run, Format::Json)?;
        assert!(!json.contains(secret));
        Ok(())
    }

    fn decoded_contains(b64: &str, needle: &str) -> bool {
        data_encoding::BASE64
            .decode(b64.as_bytes())
            .is_ok_and(|raw| raw.windows(needle.len()).any(|w| w == needle.as_bytes()))
    }

    #[test]
    fn quoted_forms_of_a_secret_are_masked_in_commands() {
        let secret = "it's-a-secret";
        let mut text = format!("curl -u {}", crate::expr::shell::quote(secret));
        Redactor::new([secret.to_string()]).text(&mut text);
        assert_eq!(text, format!("curl -u {MASK}"));
    }

    #[test]
    fn secrets_shorter_than_four_characters_are_refused_by_name() {
        let e = Redactor::for_secrets([("pin", "123".to_string())]).err();
        let message = e.map(|e| e.to_string()).unwrap_or_default();
        assert!(
            message.contains("secret `pin` is 3 character(s) long"),
            "{message}"
        );
        assert!(!message.contains("123"), "the error shows the secret");
        assert!(Redactor::for_secrets([("token", "abcd".to_string())]).is_ok());
    }
}
