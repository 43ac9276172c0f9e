//! Groups form a graph, not a tree: a group may have several parents
//! (Ansible's `[databases:children] prod_db` and `[prod:children] prod_db`,
//! or a bare `group prod_db` reference inside another KDL group). A host is
//! in every ancestor of every group it is in, so `forbid-groups "prod"` and
//! `protect "prod"` see `db1` whichever path leads there.
//!
//! Graphs are given as `parents[g]`: the direct parents of group `g`, by
//! index. The functions here terminate on any input, cycles included;
//! [`cycle`] finds one so loading can refuse it.

use std::collections::{BTreeSet, VecDeque};

/// `start` and all its ancestors, nearest first (breadth-first, parents
/// in the order they were declared), each once.
pub(crate) fn ancestors(parents: &[Vec<usize>], start: usize) -> Vec<usize> {
    let mut seen = BTreeSet::from([start]);
    let mut order = vec![start];
    let mut queue = VecDeque::from([start]);
    while let Some(g) = queue.pop_front() {
        for &p in parents.get(g).into_iter().flatten() {
            if seen.insert(p) {
                order.push(p);
                queue.push_back(p);
            }
        }
    }
    order
}

/// A rank per group such that every parent ranks before its children
/// (ties broken by declaration order), for merging group vars outer to
/// inner. Groups on a cycle (already an error) rank after the rest.
pub(crate) fn ranks(parents: &[Vec<usize>]) -> Vec<usize> {
    let n = parents.len();
    let mut pending: Vec<usize> = parents
        .iter()
        .map(|ps| ps.iter().filter(|&&p| p < n).collect::<BTreeSet<_>>().len())
        .collect();
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (g, ps) in parents.iter().enumerate() {
        for &p in ps.iter().filter(|&&p| p < n).collect::<BTreeSet<_>>() {
            children[p].push(g);
        }
    }
    let mut ready: BTreeSet<usize> = (0..n).filter(|&g| pending[g] == 0).collect();
    let mut rank = vec![usize::MAX; n];
    let mut next = 0;
    while let Some(g) = ready.pop_first() {
        rank[g] = next;
        next += 1;
        for &c in &children[g] {
            pending[c] -= 1;
            if pending[c] == 0 {
                ready.insert(c);
            }
        }
    }
    for r in rank.iter_mut().filter(|r| **r == usize::MAX) {
        *r = next;
        next += 1;
    }
    rank
}

/// One cycle, as the groups along it (`[a, b]` for a → b → a: `b` is a
/// parent of `a` and `a` of `b`), or `None` when the graph is acyclic.
pub(crate) fn cycle(parents: &[Vec<usize>]) -> Option<Vec<usize>> {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        New,
        OnPath,
        Done,
    }
    let n = parents.len();
    let mut state = vec![State::New; n];
    for root in 0..n {
        if state[root] != State::New {
            continue;
        }
        // Iterative DFS: (group, index of the next parent to visit).
        let mut path: Vec<(usize, usize)> = vec![(root, 0)];
        state[root] = State::OnPath;
        while let Some(&mut (g, ref mut next)) = path.last_mut() {
            let Some(&p) = parents[g].get(*next) else {
                state[g] = State::Done;
                path.pop();
                continue;
            };
            *next += 1;
            if p >= n {
                continue;
            }
            match state[p] {
                State::OnPath => {
                    let from = path.iter().position(|&(x, _)| x == p).unwrap_or(0);
                    return Some(path[from..].iter().map(|&(x, _)| x).collect());
                }
                State::New => {
                    state[p] = State::OnPath;
                    path.push((p, 0));
                }
                State::Done => {}
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_with_two_parents_has_both_as_ancestors() {
        // 0 prod, 1 databases, 2 prod_db (parents: databases, prod)
        let parents = vec![vec![], vec![], vec![1, 0]];
        assert_eq!(ancestors(&parents, 2), [2, 1, 0]);
        assert_eq!(cycle(&parents), None);
        let r = ranks(&parents);
        assert!(r[0] < r[2] && r[1] < r[2]);
    }

    #[test]
    fn diamonds_visit_each_ancestor_once() {
        // 3 → 1, 2 → 0
        let parents = vec![vec![], vec![0], vec![0], vec![1, 2]];
        assert_eq!(ancestors(&parents, 3), [3, 1, 2, 0]);
        assert_eq!(cycle(&parents), None);
    }

    #[test]
    fn cycles_are_found_and_walks_still_end() {
        let parents = vec![vec![2], vec![0], vec![1]];
        let c = cycle(&parents).unwrap_or_default();
        assert_eq!(c.len(), 3, "{c:?}");
        assert_eq!(ancestors(&parents, 0).len(), 3);
        assert_eq!(ranks(&parents).len(), 3);
        assert_eq!(cycle(&[vec![0]]), Some(vec![0]));
    }
}
