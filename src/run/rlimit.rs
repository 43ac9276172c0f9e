//! The open-files limit a run needs: one socket per host in flight (plus
//! the agent, known_hosts and key files, the terminal and the runtime's
//! own descriptors). Many systems start processes with a soft limit of
//! 1,024, far below the hard limit; 5,000 hosts need about 5,100.

/// Descriptors kept for everything that is not a host's connection.
pub const SPARE: u64 = 100;

/// Raises the soft `RLIMIT_NOFILE` to `needed` (never above the hard
/// limit, never lowering it). Returns the soft limit now in force, or
/// `None` when it cannot be read (the run goes on; a host that finds no
/// descriptor is reported unreachable with the OS error).
pub fn raise_open_files(needed: u64) -> Option<u64> {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    let current = limit.current.unwrap_or(u64::MAX);
    if current >= needed {
        return Some(current);
    }
    let wanted = limit.maximum.map_or(needed, |max| needed.min(max));
    let raised = rustix::process::Rlimit {
        current: Some(wanted),
        maximum: limit.maximum,
    };
    match setrlimit(Resource::Nofile, raised) {
        Ok(()) => Some(wanted),
        Err(_) => Some(current),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_soft_limit_is_raised_within_the_hard_one_and_never_lowered() {
        let before = rustix::process::getrlimit(rustix::process::Resource::Nofile);
        let now = raise_open_files(1).unwrap_or(0);
        assert_eq!(
            Some(now),
            before.current.or(Some(u64::MAX)),
            "never lowered"
        );
        let hard = before.maximum.unwrap_or(u64::MAX);
        let asked = hard.min(now.saturating_add(10));
        let raised = raise_open_files(asked).unwrap_or(0);
        assert!(raised >= asked.min(hard), "{raised} < {asked}");
        assert!(raised <= hard);
    }
}
