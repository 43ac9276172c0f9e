//! Versions that compare like versions (`1.10 > 1.9`), not like text.

use std::cmp::Ordering;
use std::fmt;
use std::sync::{Arc, LazyLock};

use minijinja::value::{DynObject, Object};
use minijinja::{Error, Value};
use regex::Regex;

use super::units::{describe, invalid};

/// A dotted numeric version. Prints as the extracted text (`621.61`);
/// compares numerically part by part, missing parts counting as 0 (so
/// `1.0 == 1`). Exposes `.parts` (list of numbers) and `.major`.
#[derive(Debug)]
pub struct Version {
    text: String,
    parts: Vec<u64>,
}

impl Version {
    fn cmp_parts(&self, other: &Self) -> Ordering {
        let n = self.parts.len().max(other.parts.len());
        (0..n)
            .map(|i| {
                let a = self.parts.get(i).copied().unwrap_or(0);
                let b = other.parts.get(i).copied().unwrap_or(0);
                a.cmp(&b)
            })
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    }
}

impl Object for Version {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str()? {
            "parts" => Some(Value::from(self.parts.clone())),
            "major" => self.parts.first().copied().map(Value::from),
            _ => None,
        }
    }

    fn custom_cmp(self: &Arc<Self>, other: &DynObject) -> Option<Ordering> {
        other.downcast_ref::<Self>().map(|o| self.cmp_parts(o))
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

static DOTTED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\d+(?:\.\d+)+").expect("constant pattern"));
static DIGITS: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\d+").expect("constant pattern"));

/// `version("1.10") > version("1.9")`, `stemcell | version`. Finds the
/// version inside text: the **last dotted number** (`.../621.61` → `621.61`,
/// `v4.0.20-rc1` → `4.0.20`), else the last plain number
/// (`awslogs-xenial/14` → `14`). Both sides of a comparison must be
/// versions: `version(a) < "1.2"` compares a version with a string, which
/// minijinja orders by type, not by value — use `version(a) < version("1.2")`
/// or `version_cmp(a, "1.2") < 0`. Works with `max`, `min`, `sort`, `unique`.
pub fn version(value: &Value) -> Result<Value, Error> {
    if value.downcast_object_ref::<Version>().is_some() {
        return Ok(value.clone());
    }
    parse(value).map(Value::from_object)
}

/// `version_cmp(a, b)`: -1, 0 or 1 as version `a` is older than, equal to or
/// newer than `b`; each side is text, a number or a `version(...)`.
pub fn version_cmp(a: &Value, b: &Value) -> Result<i64, Error> {
    let a = as_version(a)?;
    let b = as_version(b)?;
    Ok(match a.cmp_parts(&b) {
        Ordering::Less => -1,
        Ordering::Equal => 0,
        Ordering::Greater => 1,
    })
}

fn as_version(value: &Value) -> Result<Arc<Version>, Error> {
    match value.downcast_object::<Version>() {
        Some(v) => Ok(v),
        None => parse(value).map(Arc::new),
    }
}

fn parse(value: &Value) -> Result<Version, Error> {
    let text = match value.as_str() {
        Some(s) => s.to_owned(),
        None if value.is_number() => value.to_string(),
        None => {
            return Err(invalid(format!(
                "version: expected text or a number, got {}",
                describe(value)
            )));
        }
    };
    let found = DOTTED
        .find_iter(&text)
        .last()
        .or_else(|| DIGITS.find_iter(&text).last())
        .ok_or_else(|| invalid(format!("version: no version number in {text:?}")))?;
    let parts = found
        .as_str()
        .split('.')
        .map(str::parse::<u64>)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| {
            invalid(format!(
                "version: {:?} has a part too large",
                found.as_str()
            ))
        })?;
    Ok(Version {
        text: found.as_str().to_owned(),
        parts,
    })
}
