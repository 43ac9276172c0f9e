//! `~/.ssh/config` (or `--ssh-config FILE`) and how it combines with the
//! inventory into a [`Target`].
//!
//! Precedence, per setting: an explicit inventory setting (host, group or
//! defaults) wins; otherwise the first value ssh_config gives for the host
//! (OpenSSH's first-match-wins); otherwise fleet's default. The host is
//! looked up like `ssh NAME`: its inventory name is matched against `Host`
//! patterns first, as an alias, then (when it differs) its address fills
//! whatever the name's blocks left unset. `HostName` applies only when the
//! inventory gives no `address`.
//!
//! Parsing is `ssh2-config`'s. It has no `Match`: `Match` blocks are cut
//! out before parsing (otherwise their settings would leak into the
//! preceding `Host` block) and reported as a warning.

use std::io::BufReader;
use std::path::{Path, PathBuf};

use ssh2_config::{HostParams, ParseRule, SshConfig};

use super::target::{DEFAULT_KEEPALIVE, GLOBAL_KNOWN_HOSTS, Target};
use crate::model::{Host, HostKeyChecking};

/// How many jump hops a chain may have; guards against `ProxyJump` loops.
const MAX_HOPS: usize = 8;

/// A parsed ssh_config file and what was dropped from it.
#[derive(Debug)]
pub struct SshConfigFile {
    pub path: PathBuf,
    config: SshConfig,
    /// Operator-facing notes (`Match` blocks ignored), printed once.
    pub warnings: Vec<String>,
}

/// Why an ssh_config file could not be used.
#[derive(Debug, thiserror::Error)]
#[error("cannot use ssh config {path}: {reason}")]
pub struct SshConfigError {
    pub path: PathBuf,
    pub reason: String,
}

impl SshConfigFile {
    /// Loads `explicit` (must exist), else `~/.ssh/config` when it exists.
    pub fn load(explicit: Option<&Path>) -> Result<Option<SshConfigFile>, SshConfigError> {
        let home = std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(PathBuf::from);
        let path = match (explicit, &home) {
            (Some(p), _) => p.to_path_buf(),
            (None, Some(h)) => h.join(".ssh").join("config"),
            (None, None) => return Ok(None),
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if explicit.is_none() && e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(None);
            }
            Err(e) => {
                return Err(SshConfigError {
                    path,
                    reason: e.to_string(),
                });
            }
        };
        SshConfigFile::parse(&path, &text, home.as_deref()).map(Some)
    }

    pub fn parse(path: &Path, text: &str, home: Option<&Path>) -> Result<Self, SshConfigError> {
        let (text, warnings) = strip_match_blocks(path, text);
        let mut config = SshConfig::default();
        if let Some(home) = home {
            config = config.home_dir(home);
        }
        let rules = ParseRule::ALLOW_UNKNOWN_FIELDS | ParseRule::ALLOW_UNSUPPORTED_FIELDS;
        let config = config
            .parse(&mut BufReader::new(text.as_bytes()), rules)
            .map_err(|e| SshConfigError {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?;
        Ok(SshConfigFile {
            path: path.to_path_buf(),
            config,
            warnings,
        })
    }

    /// Settings for `name`, then `address` filling what `name` left unset.
    fn query(&self, name: &str, address: &str) -> HostParams {
        let mut params = self.config.query(name);
        if !address.eq_ignore_ascii_case(name) {
            params.overwrite_if_none(&self.config.query(address));
        }
        params
    }
}

/// Removes `Match` blocks (up to the next `Host` line), which the parser
/// would otherwise merge into the preceding `Host` block.
fn strip_match_blocks(path: &Path, text: &str) -> (String, Vec<String>) {
    let mut out = String::with_capacity(text.len());
    let mut warnings = Vec::new();
    let mut in_match = false;
    for (i, line) in text.lines().enumerate() {
        let keyword = line
            .trim_start()
            .split(|c: char| c.is_whitespace() || c == '=')
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        if keyword == "match" {
            in_match = true;
            warnings.push(format!(
                "{} line {}: `Match` blocks are not supported; this block is ignored",
                path.display(),
                i + 1
            ));
        } else if keyword == "host" {
            in_match = false;
        }
        if in_match {
            out.push('\n');
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    (out, warnings)
}

/// A raw option ssh2-config keeps as text (`StrictHostKeyChecking`, …).
fn raw<'a>(params: &'a HostParams, name: &str) -> Option<&'a [String]> {
    params
        .unsupported_fields
        .iter()
        .chain(params.ignored_fields.iter())
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_slice())
}

fn parse_policy(value: &str) -> Option<HostKeyChecking> {
    match value.to_ascii_lowercase().as_str() {
        "yes" | "ask" | "strict" => Some(HostKeyChecking::Strict),
        "accept-new" => Some(HostKeyChecking::AcceptNew),
        "no" | "off" => Some(HostKeyChecking::Off),
        _ => None,
    }
}

/// OpenSSH's `%h` (remote host), `%p` (port), `%r` (remote user), `%%`.
pub(crate) fn expand(text: &str, host: &str, port: u16, user: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('h') => out.push_str(host),
            Some('p') => out.push_str(&port.to_string()),
            Some('r') => out.push_str(user),
            Some('%') => out.push('%'),
            Some(other) => {
                out.push('%');
                out.push(other);
            }
            None => out.push('%'),
        }
    }
    out
}

fn expand_path(path: &Path, host: &str, port: u16, user: &str) -> PathBuf {
    PathBuf::from(expand(&path.to_string_lossy(), host, port, user))
}

/// The connection for `host`: inventory settings over ssh_config over
/// defaults, jump chain included.
pub fn target_for(host: &Host, config: Option<&SshConfigFile>) -> Result<Target, String> {
    build(host, &host.jump_hosts, config, 0)
}

/// `pool`: the inventory hosts any hop of the chain may name.
fn build(
    host: &Host,
    pool: &[Host],
    config: Option<&SshConfigFile>,
    depth: usize,
) -> Result<Target, String> {
    let jump = &host.explicit.jump;
    if depth > MAX_HOPS {
        return Err(format!(
            "jump chain to {} is longer than {MAX_HOPS} hops (a ProxyJump loop?)",
            host.name
        ));
    }
    let inv = &host.explicit;
    let params = config.map(|c| c.query(&host.name, &host.address));
    let p = params.as_ref();
    let address_explicit = !host.address.eq_ignore_ascii_case(&host.name);
    let address = match p.and_then(|p| p.host_name.as_deref()) {
        Some(name) if !address_explicit => expand(name, &host.name, 0, ""),
        _ => host.address.clone(),
    };
    let port = inv.port.or(p.and_then(|p| p.port)).unwrap_or(host.port);
    let user = inv
        .user
        .clone()
        .or_else(|| p.and_then(|p| p.user.clone()))
        .unwrap_or_else(|| host.user.clone());
    let identity_files = if inv.identity_files.is_empty() {
        p.and_then(|p| p.identity_file.clone())
            .unwrap_or_default()
            .iter()
            .map(|f| expand_path(f, &address, port, &user))
            .collect()
    } else {
        inv.identity_files.clone()
    };
    let known_hosts = if inv.known_hosts.is_empty() {
        p.and_then(|p| raw(p, "userknownhostsfile"))
            .unwrap_or_default()
            .iter()
            .filter(|f| f.as_str() != "none")
            .map(|f| PathBuf::from(expand(&tilde(f), &address, port, &user)))
            .collect()
    } else {
        inv.known_hosts.clone()
    };
    let files = |option: &str| -> Option<Vec<PathBuf>> {
        let values = p.and_then(|p| raw(p, option))?;
        Some(
            values
                .iter()
                .filter(|f| !f.eq_ignore_ascii_case("none"))
                .map(|f| PathBuf::from(expand(&tilde(f), &address, port, &user)))
                .collect(),
        )
    };
    let global_known_hosts = files("globalknownhostsfile")
        .unwrap_or_else(|| GLOBAL_KNOWN_HOSTS.iter().map(PathBuf::from).collect());
    let revoked_host_keys = files("revokedhostkeys").unwrap_or_default();
    let host_key_alias = p
        .and_then(|p| raw(p, "hostkeyalias"))
        .and_then(|v| v.first())
        .filter(|v| !v.eq_ignore_ascii_case("none"))
        .map(|v| expand(v, &address, port, &user));
    let identities_only = p
        .and_then(|p| raw(p, "identitiesonly"))
        .and_then(|v| v.first())
        .is_some_and(|v| v.eq_ignore_ascii_case("yes"));
    let host_key_checking = inv
        .host_key_checking
        .or_else(|| {
            p.and_then(|p| raw(p, "stricthostkeychecking"))
                .and_then(|v| v.first())
                .and_then(|v| parse_policy(v))
        })
        .unwrap_or(HostKeyChecking::Strict);
    let keepalive = inv
        .keepalive
        .or(p.and_then(|p| p.server_alive_interval))
        .filter(|d| !d.is_zero())
        .unwrap_or(DEFAULT_KEEPALIVE);
    let connect_timeout = inv
        .connect_timeout
        .or(p.and_then(|p| p.connect_timeout))
        .unwrap_or(host.connect_timeout);
    // ssh_config's ProxyJump only when the inventory says nothing.
    let jump_spec = match jump {
        Some(spec) => Some(spec.clone()),
        None => p
            .and_then(|p| p.proxy_jump.clone())
            .map(|hops| hops.join(",")),
    };
    let mut jumps = Vec::new();
    if let Some(spec) = jump_spec.filter(|s| !s.eq_ignore_ascii_case("none")) {
        for hop in spec.split(',').map(str::trim).filter(|h| !h.is_empty()) {
            jumps.push(hop_target(hop, host, pool, config, depth + 1)?);
        }
    }
    Ok(Target {
        name: host.name.clone(),
        address,
        port,
        user,
        identity_files,
        known_hosts,
        global_known_hosts,
        revoked_host_keys,
        host_key_alias,
        connect_timeout,
        host_key_checking,
        keepalive,
        identities_only,
        jump: jumps,
    })
}

/// One `[user@]host[:port]` hop. An inventory host of that name is
/// resolved by the loader into `host.jump_hosts`; anything else is looked
/// up in ssh_config like `ssh -J` does, with the target's key and
/// known_hosts settings as fallbacks.
fn hop_target(
    spec: &str,
    through: &Host,
    pool: &[Host],
    config: Option<&SshConfigFile>,
    depth: usize,
) -> Result<Target, String> {
    if let Some(bastion) = pool.iter().find(|h| h.name == spec) {
        return build(bastion, pool, config, depth);
    }
    let (user, rest) = match spec.rsplit_once('@') {
        Some((u, r)) => (Some(u.to_string()), r),
        None => (None, spec),
    };
    let (name, port) = split_port(rest)
        .ok_or_else(|| format!("jump host `{spec}` is not `[user@]host[:port]`"))?;
    let mut explicit = crate::model::HostSettings {
        port,
        user,
        ..Default::default()
    };
    let mut hop = Host {
        name: name.to_string(),
        address: name.to_string(),
        port: port.unwrap_or(22),
        user: through.user.clone(),
        identity_files: Vec::new(),
        known_hosts: Vec::new(),
        connect_timeout: through.connect_timeout,
        groups: Vec::new(),
        vars: Default::default(),
        span: through.span.clone(),
        jump_hosts: Vec::new(),
        explicit: Default::default(),
    };
    // Unless ssh_config says otherwise for the jump host, use the keys and
    // known_hosts the inventory gives the host behind it.
    let params = config.map(|c| c.query(name, name));
    if params
        .as_ref()
        .and_then(|p| p.identity_file.as_ref())
        .is_none()
    {
        explicit.identity_files = through.explicit.identity_files.clone();
    }
    if params
        .as_ref()
        .and_then(|p| raw(p, "userknownhostsfile"))
        .is_none()
    {
        explicit.known_hosts = through.explicit.known_hosts.clone();
    }
    explicit.host_key_checking = through.explicit.host_key_checking;
    hop.explicit = explicit;
    build(&hop, pool, config, depth)
}

/// `host`, `host:port`, `[v6]:port`.
fn split_port(text: &str) -> Option<(&str, Option<u16>)> {
    if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p.parse().ok()?),
            None if after.is_empty() => None,
            None => return None,
        };
        return Some((host, port));
    }
    match text.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => Some((host, Some(port.parse().ok()?))),
        _ => Some((text, None)),
    }
}

fn tilde(path: &str) -> String {
    match (path.strip_prefix("~/"), std::env::var("HOME")) {
        (Some(rest), Ok(home)) if !home.is_empty() => format!("{home}/{rest}"),
        _ => path.to_string(),
    }
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
