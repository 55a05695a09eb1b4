#!/usr/bin/env bash
# SIGKILLs one rank of `mpirun -np 2 quill train` at a random moment, TRIALS times (default 10):
# each time the job must end non-zero with a message within seconds, and --resume from the last
# checkpoint must end with the weights of a run never broken. The suite runs 2 trials; this runs more.
#   scripts/mpi-kill-trials.sh [TRIALS]
set -euo pipefail
export PATH=$PATH:/opt/swift/usr/bin
export QUILL_MPI_KILL_TRIALS="${1:-10}"
nice -n 10 swift test --filter MPITrainingTests.testKilledRankEndsTheJobAndTheRunResumesExactly
