//! Sharding a plan: which shard this worker is (`--shard I/N`, or
//! `auto` from the engine's environment: Kubernetes Indexed Jobs, GitLab
//! CI `parallel:`, Slurm job arrays), the run id every shard shares, which
//! of the selected hosts this shard runs, and the destructive workflows
//! sharding must refuse. The engines schedule; fleet only partitions and
//! merges (`crate::merge`).

use std::str::FromStr;

use crate::model::Workflow;
use crate::model::shard::{MAX_SHARDS, SelectedHost, Shard};
use crate::plan::Plan;

/// Where `--shard auto` takes the shard count on Kubernetes, whose Indexed
/// Jobs set only the 0-based `JOB_COMPLETION_INDEX`: set it to the Job's
/// `completions`.
pub const COUNT_VAR: &str = "FLEET_SHARD_COUNT";

fn shard(index: u32, count: u32, from: &str) -> Result<Shard, ShardError> {
    Shard::new(index, count).ok_or_else(|| ShardError::OutOfRange {
        from: from.to_string(),
        index,
        count,
    })
}

/// `--shard I/N` or `--shard auto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardArg {
    Fixed(Shard),
    /// From the engine's environment, see [`from_env`].
    Auto,
}

impl FromStr for ShardArg {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if s == "auto" {
            return Ok(ShardArg::Auto);
        }
        let parsed = s.split_once('/').and_then(|(i, n)| {
            Some((i.trim().parse::<u32>().ok()?, n.trim().parse::<u32>().ok()?))
        });
        let (index, count) = parsed
            .ok_or_else(|| format!("expected I/N (e.g. 2/4, 1-based) or `auto`, got `{s}`"))?;
        shard(index, count, "--shard")
            .map(ShardArg::Fixed)
            .map_err(|e| e.to_string())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShardError {
    #[error(
        "{from}: shard {index} of {count} does not exist (shards are numbered 1 to N, N at most {MAX_SHARDS})",
        MAX_SHARDS = MAX_SHARDS
    )]
    OutOfRange {
        from: String,
        index: u32,
        count: u32,
    },
    #[error(
        "--shard auto: no engine's shard variables are set (looked for JOB_COMPLETION_INDEX with {COUNT_VAR}, CI_NODE_INDEX with CI_NODE_TOTAL, SLURM_ARRAY_TASK_ID with SLURM_ARRAY_TASK_COUNT); pass --shard I/N"
    )]
    NoEngine,
    #[error("--shard auto: found {found}: {problem}")]
    Inconsistent { found: String, problem: String },
    #[error(
        "--shard needs a run id shared by every shard: pass --run-id (or FLEET_RUN_ID); it is taken from SLURM_ARRAY_JOB_ID, CI_PIPELINE_ID or GITHUB_RUN_ID when those are set"
    )]
    NoRunId,
}

/// The engine variables `--shard auto` understands, by engine. Each entry:
/// engine, index variable, count variable, whether the index is 0-based.
const ENGINES: &[(&str, &str, &str)] = &[
    ("Kubernetes Indexed Job", "JOB_COMPLETION_INDEX", COUNT_VAR),
    ("GitLab CI parallel", "CI_NODE_INDEX", "CI_NODE_TOTAL"),
    (
        "Slurm job array",
        "SLURM_ARRAY_TASK_ID",
        "SLURM_ARRAY_TASK_COUNT",
    ),
];

/// `--shard auto`: the shard from the engine's environment. Kubernetes
/// Indexed Jobs give `JOB_COMPLETION_INDEX` (0-based) and fleet reads the
/// count from [`COUNT_VAR`]; GitLab's `parallel:` gives `CI_NODE_INDEX`
/// (1-based) and `CI_NODE_TOTAL`; Slurm arrays give `SLURM_ARRAY_TASK_ID`,
/// `SLURM_ARRAY_TASK_COUNT`, `SLURM_ARRAY_TASK_MIN` and, for `--array=0-6:2`,
/// `SLURM_ARRAY_TASK_STEP`. Variables of more than one engine, a missing
/// count, or an index outside the count are errors naming what was found.
pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<Shard, ShardError> {
    let present: Vec<&(&str, &str, &str)> = ENGINES
        .iter()
        .filter(|(_, index, _)| get(index).is_some())
        .collect();
    let found = |vars: &[&str]| {
        vars.iter()
            .map(|v| match get(v) {
                Some(value) => format!("{v}={value}"),
                None => format!("{v} unset"),
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let &(engine, index_var, count_var) = match present.as_slice() {
        [] => return Err(ShardError::NoEngine),
        [one] => *one,
        several => {
            let vars: Vec<&str> = several.iter().map(|(_, i, _)| *i).collect();
            return Err(ShardError::Inconsistent {
                found: found(&vars),
                problem: "variables of more than one engine; pass --shard I/N".into(),
            });
        }
    };
    let mut vars = vec![index_var, count_var];
    if index_var == "SLURM_ARRAY_TASK_ID" {
        vars.extend(["SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_STEP"]);
    }
    let inconsistent = |problem: String| ShardError::Inconsistent {
        found: found(&vars),
        problem,
    };
    let number = |var: &str| -> Result<Option<u32>, ShardError> {
        get(var)
            .map(|v| {
                v.trim()
                    .parse::<u32>()
                    .map_err(|_| inconsistent(format!("{var} is not a number")))
            })
            .transpose()
    };
    let raw = number(index_var)?.unwrap_or_default();
    let count = number(count_var)?
        .ok_or_else(|| inconsistent(format!("{engine}: {count_var} is not set")))?;
    let index = match index_var {
        "JOB_COMPLETION_INDEX" => raw.checked_add(1),
        "CI_NODE_INDEX" => Some(raw),
        _ => {
            let min = number("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
            let step = number("SLURM_ARRAY_TASK_STEP")?.unwrap_or(1).max(1);
            let offset = raw
                .checked_sub(min)
                .ok_or_else(|| inconsistent("the task id is below the array's minimum".into()))?;
            if offset % step != 0 {
                return Err(inconsistent(
                    "not a regular array; use --array=0-(N-1)".into(),
                ));
            }
            (offset / step).checked_add(1)
        }
    };
    let index = index.ok_or_else(|| inconsistent("index out of range".into()))?;
    shard(index, count, engine).map_err(|e| inconsistent(e.to_string()))
}

/// The run id all shards share: `--run-id`/`FLEET_RUN_ID` when given, else
/// the engine's id of the whole job (a Slurm array, a GitLab pipeline, a
/// GitHub workflow run and its attempt).
pub fn run_id(
    explicit: Option<&str>,
    get: impl Fn(&str) -> Option<String>,
) -> Result<String, ShardError> {
    if let Some(id) = explicit.filter(|id| !id.trim().is_empty()) {
        return Ok(id.to_string());
    }
    if let Some(job) = get("SLURM_ARRAY_JOB_ID") {
        return Ok(format!("slurm-{job}"));
    }
    if let Some(pipeline) = get("CI_PIPELINE_ID") {
        return Ok(format!("gitlab-{pipeline}"));
    }
    if let Some(run) = get("GITHUB_RUN_ID") {
        let attempt = get("GITHUB_RUN_ATTEMPT").unwrap_or_else(|| "1".into());
        return Ok(format!("github-{run}-{attempt}"));
    }
    Err(ShardError::NoRunId)
}

/// Keeps the plan's hosts (and refused hosts) of `shard`; returns the
/// whole selection as it was before.
pub fn restrict(plan: &mut Plan, shard: Shard) -> Vec<SelectedHost> {
    let selected = plan
        .hosts
        .iter()
        .map(|h| (&h.host, false))
        .chain(plan.refused.iter().map(|r| (&r.host, true)))
        .map(|(host, refused)| SelectedHost {
            name: host.name.clone(),
            address: host.address.clone(),
            port: host.port,
            user: host.user.clone(),
            groups: host.groups.clone(),
            refused,
        })
        .collect();
    plan.hosts.retain(|h| shard.holds(&h.host.name));
    plan.refused.retain(|r| shard.holds(&r.host.name));
    selected
}

/// Serial batches and `max-failures` of a destructive workflow promise
/// "stop the rollout after N failures"; independent shards cannot keep
/// that promise across the fleet, only each within its own hosts. Refused
/// unless the workflow says `per-shard-thresholds`.
pub fn refusal(workflow: &Workflow) -> Option<String> {
    let guarded = !workflow.serial.is_empty() || workflow.max_failures.is_some();
    (workflow.is_destructive() && guarded && !workflow.per_shard_thresholds).then(|| {
        format!(
            "--shard: workflow `{}` is destructive and rolls out in `serial` batches with `max-failures`; \
             independent shards would each apply them to their own hosts only, so the fleet-wide \
             threshold would not hold. Run it unsharded, or add `per-shard-thresholds` to the \
             workflow if per-shard batches and thresholds are acceptable",
            workflow.name
        )
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::model::shard::shard_of;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: BTreeMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn parses_fixed_and_auto() {
        assert_eq!(
            "2/4".parse::<ShardArg>(),
            Ok(ShardArg::Fixed(Shard { index: 2, count: 4 }))
        );
        assert_eq!("auto".parse::<ShardArg>(), Ok(ShardArg::Auto));
        for bad in ["0/4", "5/4", "1/0", "x/4", "3", "", "1/20000"] {
            assert!(bad.parse::<ShardArg>().is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn hash_is_fixed_and_covers_every_shard() {
        // Pinned: a changed hash would split one run's parts.
        // FNV-1a("a") = 0xaf63dc4c8601ec8c (the published test vector).
        let fnv_a: u64 = 0xaf63_dc4c_8601_ec8c;
        assert_eq!(u64::from(shard_of("a", 9_999)), fnv_a % 9_999 + 1);
        assert_eq!(shard_of("ps-prod-1", 4), shard_of("ps-prod-1", 4));
        let mut seen = [0usize; 4];
        for i in 0..4000 {
            seen[shard_of(&format!("host-{i}"), 4) as usize - 1] += 1;
        }
        assert!(seen.iter().all(|&n| n > 800), "{seen:?}");
    }

    #[test]
    fn adding_a_host_moves_no_other_host() {
        let before: Vec<u32> = (0..100).map(|i| shard_of(&format!("h{i}"), 4)).collect();
        let after: Vec<u32> = (0..101).map(|i| shard_of(&format!("h{i}"), 4)).collect();
        assert_eq!(before[..], after[..100]);
    }

    #[test]
    fn kubernetes_needs_the_count_variable() {
        let s = from_env(env(&[("JOB_COMPLETION_INDEX", "0"), (COUNT_VAR, "4")]));
        assert_eq!(s, Ok(Shard { index: 1, count: 4 }));
        let e = from_env(env(&[("JOB_COMPLETION_INDEX", "3")])).unwrap_err();
        assert!(e.to_string().contains("FLEET_SHARD_COUNT unset"), "{e}");
        let e = from_env(env(&[("JOB_COMPLETION_INDEX", "4"), (COUNT_VAR, "4")])).unwrap_err();
        assert!(e.to_string().contains("JOB_COMPLETION_INDEX=4"), "{e}");
    }

    #[test]
    fn gitlab_is_one_based() {
        let s = from_env(env(&[("CI_NODE_INDEX", "4"), ("CI_NODE_TOTAL", "4")]));
        assert_eq!(s, Ok(Shard { index: 4, count: 4 }));
        assert!(from_env(env(&[("CI_NODE_INDEX", "0"), ("CI_NODE_TOTAL", "4")])).is_err());
    }

    #[test]
    fn slurm_arrays_from_any_minimum_and_step() {
        let s = from_env(env(&[
            ("SLURM_ARRAY_TASK_ID", "7"),
            ("SLURM_ARRAY_TASK_MIN", "5"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ]));
        assert_eq!(s, Ok(Shard { index: 3, count: 4 }));
        let s = from_env(env(&[
            ("SLURM_ARRAY_TASK_ID", "6"),
            ("SLURM_ARRAY_TASK_MIN", "0"),
            ("SLURM_ARRAY_TASK_STEP", "2"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ]));
        assert_eq!(s, Ok(Shard { index: 4, count: 4 }));
        let e = from_env(env(&[
            ("SLURM_ARRAY_TASK_ID", "9"),
            ("SLURM_ARRAY_TASK_MIN", "0"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ]))
        .unwrap_err();
        assert!(e.to_string().contains("SLURM_ARRAY_TASK_ID=9"), "{e}");
    }

    #[test]
    fn unknown_or_mixed_engines_are_named() {
        assert_eq!(from_env(env(&[])), Err(ShardError::NoEngine));
        let e = from_env(env(&[
            ("CI_NODE_INDEX", "1"),
            ("CI_NODE_TOTAL", "2"),
            ("SLURM_ARRAY_TASK_ID", "0"),
        ]))
        .unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("CI_NODE_INDEX=1") && text.contains("SLURM_ARRAY_TASK_ID=0"),
            "{text}"
        );
    }

    #[test]
    fn run_id_from_flag_or_engine() {
        assert_eq!(run_id(Some("r1"), env(&[])), Ok("r1".into()));
        assert_eq!(
            run_id(None, env(&[("SLURM_ARRAY_JOB_ID", "42")])),
            Ok("slurm-42".into())
        );
        assert_eq!(
            run_id(
                None,
                env(&[("GITHUB_RUN_ID", "9"), ("GITHUB_RUN_ATTEMPT", "2")])
            ),
            Ok("github-9-2".into())
        );
        assert_eq!(run_id(None, env(&[])), Err(ShardError::NoRunId));
    }
}
