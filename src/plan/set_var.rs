//! `--set key=value`: the operator's variable overrides, highest
//! precedence of all.

use crate::load::is_identifier;

/// A `--set key=value` override, highest precedence of all variables.
#[derive(Debug, Clone, PartialEq)]
pub struct SetVar {
    pub name: String,
    pub value: serde_json::Value,
}

impl std::str::FromStr for SetVar {
    type Err = String;

    /// `key=value`; the value is read as JSON when it parses as such
    /// (`80`, `true`, `[1,2]`), else taken as a plain string.
    fn from_str(s: &str) -> Result<Self, String> {
        let (name, raw) = s
            .split_once('=')
            .ok_or_else(|| format!("expected KEY=VALUE, got `{s}`"))?;
        let name = name.trim();
        if !is_identifier(name) {
            return Err(format!(
                "variable name `{name}` must be an identifier (letters, digits, `_`; not starting with a digit)"
            ));
        }
        // JSON only when nothing is lost: `621.70` stays the string a
        // version comparison needs, not the number 621.7.
        let value = match serde_json::from_str::<serde_json::Value>(raw) {
            Ok(v)
                if !v.is_number()
                    || serde_json::to_string(&v).ok().as_deref() == Some(raw.trim()) =>
            {
                v
            }
            _ => serde_json::Value::String(raw.to_string()),
        };
        Ok(SetVar {
            name: name.to_string(),
            value,
        })
    }
}
