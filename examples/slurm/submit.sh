#!/bin/bash
# Submits the 4-task array and its dependent merge job, waits for the
# merge, prints its output and exits with its exit code (that of one run).
#   examples/slurm/submit.sh PARTS_DIR      (from the repository root)
# Environment: FLEET (the binary), FLEET_WORKFLOW, FLEET_INVENTORY,
# FLEET_STATE_DIR, SLURM_CONF (scripts/slurm-cluster env).
set -euo pipefail
here=$(dirname "${BASH_SOURCE[0]}")
parts=$(realpath -m "${1:?usage: submit.sh PARTS_DIR}")
mkdir -p "$parts"
export FLEET_PARTS=$parts
array=$(sbatch --parsable --chdir="$PWD" --output="$parts/shard-%a.out" "$here/fleet-shards.sbatch")
echo "submitted array job $array (4 shards); merge after every task ends" >&2
rc=0
sbatch --wait --parsable --chdir="$PWD" --output="$parts/merge.out" \
    --dependency="afterany:$array" "$here/fleet-merge.sbatch" >/dev/null || rc=$?
cat "$parts/merge.out"
exit "$rc"
