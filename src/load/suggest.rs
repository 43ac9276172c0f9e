//! "Did you mean" suggestions for misspelled node, property and value
//! names. A typo should cost the operator one glance, not a trip to the
//! documentation, so every "unknown X" error offers the closest name.

/// The candidate closest to `word`, if it is close enough to be a likely
/// typo rather than a different word.
pub(crate) fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|&candidate| (edit_distance(word, candidate), candidate))
        .filter(|&(distance, candidate)| distance <= 1 + candidate.chars().count() / 4)
        .min_by_key(|&(distance, _)| distance)
        .map(|(_, candidate)| candidate)
}

/// `a`, `b`, `c` — the allowed names, ready to drop into a help line.
pub(crate) fn list(candidates: &[&str]) -> String {
    candidates
        .iter()
        .map(|c| format!("`{c}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Help for an unknown name: a suggestion when one is close, then what is
/// allowed at that place.
pub(crate) fn unknown_help(word: &str, candidates: &[&str], place: &str) -> String {
    let allowed = format!("allowed {place}: {}", list(candidates));
    match did_you_mean(word, candidates) {
        Some(suggestion) => format!("did you mean `{suggestion}`? {allowed}"),
        None => allowed,
    }
}

/// Optimal string alignment distance: Levenshtein plus adjacent
/// transpositions, so `stpe` is one edit from `step`, as a typist sees it.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // rows[i][j]: distance between a[..i] and b[..j].
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = best;
        }
    }
    rows[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(edit_distance("step", "step"), 0);
        assert_eq!(edit_distance("stpe", "step"), 1);
        assert_eq!(edit_distance("timout", "timeout"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
    }

    #[test]
    fn suggests_close_names_only() {
        let names = ["description", "hosts", "step", "timeout"];
        assert_eq!(did_you_mean("stpe", &names), Some("step"));
        assert_eq!(did_you_mean("descripton", &names), Some("description"));
        assert_eq!(did_you_mean("hots", &names), Some("hosts"));
        assert_eq!(did_you_mean("banana", &names), None);
    }
}
