//! An in-memory known_hosts matcher.
//!
//! russh's `check_known_hosts_path` re-reads the file for every check, splits
//! on single spaces, ignores `@revoked` and treats a key of another algorithm
//! as unknown without saying so. A fleet checks hundreds of hosts against the
//! same file, so we parse each file once ([`KnownHostsFile::parse`]) and answer
//! every lookup from memory, following OpenSSH's rules: host lists with `*`,
//! `?` and `!` patterns, `[host]:port` for non-standard ports, hashed
//! `|1|salt|hash` names, and `@revoked` keys that reject even when another
//! line would accept.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use data_encoding::BASE64;
use hmac::{Hmac, KeyInit, Mac};
use russh::keys::ssh_key::certificate::CertType;
use russh::keys::{Algorithm, Certificate, HashAlg, PublicKey, parse_public_key_base64};
use sha1::Sha1;

/// The name OpenSSH looks up in known_hosts: the plain host for port 22,
/// `[host]:port` otherwise. Lower-cased, as OpenSSH does before hashing.
pub(crate) fn lookup_name(host: &str, port: u16) -> String {
    let host = host.to_ascii_lowercase();
    if port == 22 {
        host
    } else {
        format!("[{host}]:{port}")
    }
}

/// One parsed known_hosts file. A missing file parses as empty: a host is
/// then simply unknown, as with OpenSSH.
#[derive(Debug)]
pub(crate) struct KnownHostsFile {
    pub(crate) path: PathBuf,
    entries: Vec<Entry>,
    /// Entries whose patterns are all plain names (no wildcard, negation or
    /// hash), by name: a lookup reads these directly instead of scanning
    /// every line, so checking N hosts against an N-line file is not
    /// quadratic (5,000 hosts: 25 M pattern matches).
    by_name: HashMap<String, Vec<usize>>,
    /// Indices of every other entry, in file order; always scanned.
    scan: Vec<usize>,
    /// Why the file could not be read (other than not existing); reported
    /// with an "unknown host" verdict so the operator knows where to look.
    pub(crate) read_error: Option<String>,
}

#[derive(Debug)]
struct Entry {
    /// 1-based line number, for messages.
    line: usize,
    marker: Marker,
    patterns: Vec<Pattern>,
    key: PublicKey,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marker {
    None,
    Revoked,
    /// A CA whose host certificates are trusted for the listed hosts.
    CertAuthority,
}

#[derive(Debug)]
enum Pattern {
    /// A glob (`*`, `?`), lower-cased; `negated` for a leading `!`.
    Glob { glob: String, negated: bool },
    /// `|1|salt|hash`: HMAC-SHA1 of the lookup name keyed by the salt.
    Hashed { salt: Vec<u8>, hash: Vec<u8> },
}

/// Where a key for the host was found: file and 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Location {
    pub(crate) path: PathBuf,
    pub(crate) line: usize,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} line {}", self.path.display(), self.line)
    }
}

/// The outcome of checking an offered host key against known_hosts files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Some line lists this host with exactly this key.
    Trusted,
    /// The key is listed as `@revoked` for this host.
    Revoked(Location),
    /// The host is listed with a different key of the same algorithm.
    Changed(Location),
    /// No line has a key of this algorithm for the host. `other_keys` lists
    /// lines with keys of other algorithms, which OpenSSH would also not
    /// accept but which tell the operator the host is not entirely new.
    Unknown {
        other_keys: Vec<(Algorithm, Location)>,
    },
}

impl KnownHostsFile {
    /// Reads and parses `path`. Never fails: a missing file is empty, an
    /// unreadable one is empty with `read_error` set, bad lines are skipped
    /// (OpenSSH skips them too).
    pub(crate) async fn load(path: &Path) -> KnownHostsFile {
        match tokio::fs::read_to_string(path).await {
            Ok(text) => KnownHostsFile::parse(path, &text),
            Err(e) => {
                let mut file = KnownHostsFile::parse(path, "");
                if e.kind() != std::io::ErrorKind::NotFound {
                    file.read_error = Some(format!("cannot read {}: {e}", path.display()));
                }
                file
            }
        }
    }

    pub(crate) fn parse(path: &Path, text: &str) -> KnownHostsFile {
        let entries: Vec<Entry> = text
            .lines()
            .enumerate()
            .filter_map(|(i, line)| parse_line(i + 1, line))
            .collect();
        let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
        let mut scan = Vec::new();
        for (i, entry) in entries.iter().enumerate() {
            let literal = |p: &Pattern| match p {
                Pattern::Glob { glob, negated } => !negated && !glob.contains(['*', '?']),
                Pattern::Hashed { .. } => false,
            };
            if !entry.patterns.is_empty() && entry.patterns.iter().all(literal) {
                for pattern in &entry.patterns {
                    if let Pattern::Glob { glob, .. } = pattern {
                        let list = by_name.entry(glob.clone()).or_default();
                        if list.last() != Some(&i) {
                            list.push(i);
                        }
                    }
                }
            } else {
                scan.push(i);
            }
        }
        KnownHostsFile {
            path: path.to_path_buf(),
            entries,
            by_name,
            scan,
            read_error: None,
        }
    }

    /// Entries listing `name`, in file order, with their locations.
    fn keys_for<'a>(&'a self, name: &'a str) -> impl Iterator<Item = (&'a Entry, Location)> + 'a {
        let indexed = self.by_name.get(name).map(Vec::as_slice).unwrap_or(&[]);
        let mut candidates: Vec<usize> = Vec::with_capacity(indexed.len() + self.scan.len());
        let (mut a, mut b) = (indexed.iter().peekable(), self.scan.iter().peekable());
        // Both lists are ascending: merge them to keep file order.
        loop {
            let next = match (a.peek(), b.peek()) {
                (Some(&&x), Some(&&y)) if x < y => a.next(),
                (Some(_), Some(_)) | (None, Some(_)) => b.next(),
                (Some(_), None) => a.next(),
                (None, None) => break,
            };
            candidates.extend(next.copied());
        }
        candidates
            .into_iter()
            .map(move |i| &self.entries[i])
            .filter(move |e| host_matches(&e.patterns, name))
            .map(|e| {
                let location = Location {
                    path: self.path.clone(),
                    line: e.line,
                };
                (e, location)
            })
    }
}

/// A `RevokedHostKeys` file: public keys, one per line as in
/// `authorized_keys` (`ssh-ed25519 AAAA… comment`). OpenSSH's binary KRL
/// format is not read; such a file is an error, so nothing is silently
/// trusted.
#[derive(Debug)]
pub(crate) struct RevokedKeys {
    pub(crate) path: PathBuf,
    keys: Vec<russh::keys::ssh_key::public::KeyData>,
    /// Why the file cannot be used; the connection is then refused.
    pub(crate) error: Option<String>,
}

impl RevokedKeys {
    pub(crate) async fn load(path: &Path) -> RevokedKeys {
        match tokio::fs::read(path).await {
            Ok(bytes) => RevokedKeys::parse(path, &bytes),
            Err(e) => RevokedKeys {
                path: path.to_path_buf(),
                keys: Vec::new(),
                error: Some(format!("cannot read {}: {e}", path.display())),
            },
        }
    }

    pub(crate) fn parse(path: &Path, bytes: &[u8]) -> RevokedKeys {
        let mut file = RevokedKeys {
            path: path.to_path_buf(),
            keys: Vec::new(),
            error: None,
        };
        if bytes.starts_with(b"SSHKRL") {
            file.error = Some(format!(
                "{} is a binary KRL, which fleet does not read; list the revoked public keys \
                 one per line instead",
                path.display()
            ));
            return file;
        }
        let text = String::from_utf8_lossy(bytes);
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut fields = line.split_whitespace();
            let key = fields.next().and_then(|first| {
                parse_public_key_base64(first)
                    .ok()
                    .or_else(|| fields.next().and_then(|b| parse_public_key_base64(b).ok()))
            });
            match key {
                Some(key) => file.keys.push(key.key_data().clone()),
                None => {
                    file.error = Some(format!(
                        "{} line {}: not a public key",
                        path.display(),
                        i + 1
                    ));
                    return file;
                }
            }
        }
        file
    }

    pub(crate) fn contains(&self, key: &russh::keys::ssh_key::public::KeyData) -> bool {
        self.keys.iter().any(|k| k == key)
    }
}

/// Algorithms of the plain keys recorded for `name`, in file order, without
/// duplicates. Used to prefer those host key algorithms in the handshake, as
/// OpenSSH does, so a host with only an ECDSA key on record is not reported
/// unknown because the server offered Ed25519 first.
pub(crate) fn known_algorithms(files: &[Arc<KnownHostsFile>], name: &str) -> Vec<Algorithm> {
    let mut algorithms = Vec::new();
    for file in files {
        for (entry, _) in file.keys_for(name) {
            let algorithm = entry.key.algorithm();
            if entry.marker == Marker::None && !algorithms.contains(&algorithm) {
                algorithms.push(algorithm);
            }
        }
    }
    algorithms
}

/// CA keys listed `@cert-authority` for `name`, with their locations.
pub(crate) fn cert_authorities(files: &[Arc<KnownHostsFile>], name: &str) -> Vec<PublicKey> {
    files
        .iter()
        .flat_map(|f| f.keys_for(name))
        .filter(|(e, _)| e.marker == Marker::CertAuthority)
        .map(|(e, _)| e.key.clone())
        .collect()
}

/// Checks a host certificate as OpenSSH does: a host (not user)
/// certificate, signed by a CA listed `@cert-authority` for `name`, valid
/// now, naming `host` among its principals (fleet requires one), with no
/// critical options, and neither it nor its CA `@revoked`.
pub(crate) fn check_certificate(
    files: &[Arc<KnownHostsFile>],
    name: &str,
    host: &str,
    cert: &Certificate,
) -> Result<(), String> {
    let fingerprint = cert.public_key().fingerprint(HashAlg::Sha256);
    if cert.cert_type() != CertType::Host {
        return Err(format!(
            "the server offered a user certificate ({fingerprint}) as host key"
        ));
    }
    for key in [
        PublicKey::from(cert.public_key().clone()),
        PublicKey::from(cert.signature_key().clone()),
    ] {
        if let Verdict::Revoked(at) = check(files, name, &key) {
            return Err(format!(
                "host certificate key or its CA ({}) is marked @revoked in {at}",
                key.fingerprint(HashAlg::Sha256)
            ));
        }
    }
    let cas = cert_authorities(files, name);
    if cas.is_empty() {
        return Err(format!(
            "the server offered a host certificate ({fingerprint}) but no @cert-authority line \
             in known_hosts matches {name}"
        ));
    }
    let trusted: Vec<_> = cas.iter().map(|k| k.fingerprint(HashAlg::Sha256)).collect();
    if cert.validate(trusted.iter()).is_err() {
        return Err(format!(
            "host certificate ({fingerprint}, CA {}) is not signed by a trusted \
             @cert-authority for {name}, or is outside its validity period",
            cert.signature_key().fingerprint(HashAlg::Sha256)
        ));
    }
    if !cert.critical_options().is_empty() {
        return Err(format!(
            "host certificate ({fingerprint}) has critical options, which host certificates \
             must not have"
        ));
    }
    let host = host.to_ascii_lowercase();
    if !cert
        .valid_principals()
        .iter()
        .any(|p| p.to_ascii_lowercase() == host)
    {
        return Err(format!(
            "host certificate ({fingerprint}) is not valid for {host}: its principals are [{}]",
            cert.valid_principals().join(", ")
        ));
    }
    Ok(())
}

/// Checks `offered` for `name` (see [`lookup_name`]) across all files.
/// A revoked key wins over everything; then any exact match trusts; then a
/// same-algorithm mismatch is a changed key (first such line); otherwise the
/// host is unknown.
pub(crate) fn check(files: &[Arc<KnownHostsFile>], name: &str, offered: &PublicKey) -> Verdict {
    let algorithm = offered.algorithm();
    let mut trusted = false;
    let mut changed = None;
    let mut other_keys = Vec::new();
    for file in files {
        for (entry, location) in file.keys_for(name) {
            let same_key = entry.key.key_data() == offered.key_data();
            match entry.marker {
                Marker::Revoked if same_key => return Verdict::Revoked(location),
                Marker::Revoked | Marker::CertAuthority => {}
                Marker::None if same_key => trusted = true,
                Marker::None if entry.key.algorithm() == algorithm => {
                    changed.get_or_insert(location);
                }
                Marker::None => other_keys.push((entry.key.algorithm(), location)),
            }
        }
    }
    if trusted {
        Verdict::Trusted
    } else if let Some(location) = changed {
        Verdict::Changed(location)
    } else {
        Verdict::Unknown { other_keys }
    }
}

/// `[@marker] hosts keytype base64 [comment]`; fields split on any run of
/// blanks. Returns `None` for comments, blank lines and lines we cannot use.
fn parse_line(line_no: usize, line: &str) -> Option<Entry> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let mut fields = line.split_ascii_whitespace();
    let mut first = fields.next()?;
    let marker = match first {
        "@revoked" => Marker::Revoked,
        "@cert-authority" => Marker::CertAuthority,
        m if m.starts_with('@') => return None,
        _ => Marker::None,
    };
    if marker != Marker::None {
        first = fields.next()?;
    }
    let _key_type = fields.next()?;
    let key = parse_public_key_base64(fields.next()?).ok()?;
    let patterns = first.split(',').filter_map(parse_pattern).collect();
    Some(Entry {
        line: line_no,
        marker,
        patterns,
        key,
    })
}

fn parse_pattern(text: &str) -> Option<Pattern> {
    if let Some(rest) = text.strip_prefix("|1|") {
        let (salt, hash) = rest.split_once('|')?;
        return Some(Pattern::Hashed {
            salt: BASE64.decode(salt.as_bytes()).ok()?,
            hash: BASE64.decode(hash.as_bytes()).ok()?,
        });
    }
    let (glob, negated) = match text.strip_prefix('!') {
        Some(rest) => (rest, true),
        None => (text, false),
    };
    (!glob.is_empty()).then(|| Pattern::Glob {
        glob: glob.to_ascii_lowercase(),
        negated,
    })
}

/// OpenSSH's rule: a matching negated pattern excludes the line whatever
/// else matches; otherwise any matching positive pattern includes it.
fn host_matches(patterns: &[Pattern], name: &str) -> bool {
    let mut matched = false;
    for pattern in patterns {
        match pattern {
            Pattern::Glob { glob, negated } => {
                if glob_match(glob.as_bytes(), name.as_bytes()) {
                    if *negated {
                        return false;
                    }
                    matched = true;
                }
            }
            Pattern::Hashed { salt, hash } => {
                if !matched && hashed_match(salt, hash, name) {
                    matched = true;
                }
            }
        }
    }
    matched
}

fn hashed_match(salt: &[u8], hash: &[u8], name: &str) -> bool {
    Hmac::<Sha1>::new_from_slice(salt)
        .map(|mac| mac.chain_update(name.as_bytes()).verify_slice(hash).is_ok())
        .unwrap_or(false)
}

/// `*` matches any run, `?` any one byte; everything else literally.
/// Iterative with single-star backtracking: linear in practice.
fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == b'?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
#[path = "known_hosts_tests.rs"]
mod tests;
