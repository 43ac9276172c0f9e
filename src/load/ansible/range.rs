//! Ansible host ranges (`web[01:20]`, `db-[a:c]`, `[1:9:2]`): validated,
//! expanded in order, and capped per file so a typo cannot ask for
//! billions of names.

pub(super) const RANGE_HELP: &str = "ranges are `[START:END]` or `[START:END:STRIDE]`, numbers (zero-padded \
     when START has a leading zero) or single letters; use ansible_host for IPv6 addresses";

/// Most host names the ranges of one inventory file may expand to, in
/// total. Ansible has no limit; without one, `[0:99999999999]` (a typo or
/// a hostile file) asks for a hundred billion names before anything runs.
pub(crate) const MAX_RANGE_HOSTS: usize = 10_000;

/// One `[start:end(:stride)]` of a host pattern, already validated.
enum Range {
    /// Zero-padded to `width` digits when `start` has a leading zero.
    Numbers {
        start: u64,
        end: u64,
        stride: u64,
        width: usize,
    },
    Letters {
        start: u8,
        end: u8,
        stride: u8,
    },
}

impl Range {
    fn len(&self) -> u128 {
        match *self {
            Range::Numbers {
                start, end, stride, ..
            } => u128::from((end - start) / stride) + 1,
            Range::Letters { start, end, stride } => u128::from((end - start) / stride) + 1,
        }
    }

    fn values(&self) -> Vec<String> {
        match *self {
            Range::Numbers {
                start,
                end,
                stride,
                width,
            } => (start..=end)
                .step_by(usize::try_from(stride).unwrap_or(usize::MAX))
                .map(|n| format!("{n:0width$}"))
                .collect(),
            Range::Letters { start, end, stride } => (start..=end)
                .step_by(usize::from(stride))
                .map(|c| char::from(c).to_string())
                .collect(),
        }
    }
}

/// `web[01:03].example` → `web01.example`, `web02.example`, `web03.example`;
/// also letters (`db-[a:c]`), strides (`[1:9:2]`) and several ranges in
/// one name, as Ansible expands them. `budget` is what is left of
/// [`MAX_RANGE_HOSTS`] for this file. Brackets that are not a valid range
/// are an error rather than part of a host name.
pub(super) fn expand_range(name: &str, budget: &mut usize) -> Result<Vec<String>, String> {
    let mut literals: Vec<&str> = Vec::new();
    let mut ranges: Vec<Range> = Vec::new();
    let mut rest = name;
    loop {
        let open = rest.find('[');
        let close = rest.find(']');
        match (open, close) {
            (None, None) => {
                literals.push(rest);
                break;
            }
            (Some(o), Some(c)) if o < c => {
                let inner = &rest[o + 1..c];
                if inner.contains('[') {
                    return Err(format!("nested `[` in host pattern `{name}`"));
                }
                literals.push(&rest[..o]);
                ranges.push(parse_range(inner).map_err(|e| format!("host pattern `{name}`: {e}"))?);
                rest = &rest[c + 1..];
            }
            _ => {
                return Err(format!(
                    "unbalanced `[` `]` in host pattern `{name}`; a range is written \
                     `name[01:20]`"
                ));
            }
        }
    }
    let total = ranges
        .iter()
        .try_fold(1u128, |n, r| n.checked_mul(r.len()))
        .unwrap_or(u128::MAX);
    if total > *budget as u128 {
        return Err(format!(
            "host pattern `{name}` expands to {total} names; an inventory's ranges may \
             expand to at most {MAX_RANGE_HOSTS} in total"
        ));
    }
    // `total` fits the budget, so this allocates at most that many names.
    *budget -= usize::try_from(total).unwrap_or(*budget);
    let mut names = vec![literals[0].to_string()];
    for (range, literal) in ranges.iter().zip(&literals[1..]) {
        let values = range.values();
        names = names
            .iter()
            .flat_map(|prefix| values.iter().map(move |v| format!("{prefix}{v}{literal}")))
            .collect();
    }
    Ok(names)
}

/// `01:20`, `1:9:2`, `a:f`: what Ansible accepts between the brackets.
fn parse_range(inner: &str) -> Result<Range, String> {
    let parts: Vec<&str> = inner.split(':').collect();
    let (a, b, stride) = match parts.as_slice() {
        [a, b] => (*a, *b, None),
        [a, b, s] => (*a, *b, Some(*s)),
        _ => {
            return Err(format!(
                "`[{inner}]` is not a range like `[01:20]` or `[a:f]`"
            ));
        }
    };
    let stride = match stride {
        None => 1,
        Some(s) => match s.parse::<u64>() {
            Ok(n) if n > 0 => n,
            _ => return Err(format!("range stride `{s}` is not a positive number")),
        },
    };
    let letter = |t: &str| match t.as_bytes() {
        [c] if c.is_ascii_alphabetic() => Some(*c),
        _ => None,
    };
    if let (Some(start), Some(end)) = (letter(a), letter(b)) {
        if start > end || start.is_ascii_lowercase() != end.is_ascii_lowercase() {
            return Err(format!("range `[{inner}]` must go up, within one case"));
        }
        return Ok(Range::Letters {
            start,
            end,
            stride: u8::try_from(stride).unwrap_or(u8::MAX),
        });
    }
    let number = |t: &str| {
        t.parse::<u64>()
            .ok()
            .filter(|_| t.bytes().all(|c| c.is_ascii_digit()))
            .ok_or_else(|| format!("range bound `{t}` is neither a number nor a letter"))
    };
    let (start, end) = (number(a)?, number(b)?);
    if start > end {
        return Err(format!("range `[{inner}]` must go up: {start} > {end}"));
    }
    let width = if a.len() > 1 && a.starts_with('0') {
        if a.len() != b.len() {
            return Err(format!(
                "zero-padded range `[{inner}]` needs bounds of equal width"
            ));
        }
        a.len()
    } else {
        0
    };
    Ok(Range::Numbers {
        start,
        end,
        stride,
        width,
    })
}
