#!/usr/bin/env bash
# Measures what the gradient sum costs on a link: a ping-pong of one medium gradient (13.3 MB)
# and the ordered sum Quill runs (MPI_Alltoallv, the sum in rank order, MPI_Allgatherv).
#   scripts/mpi-bandwidth.sh [FLOATS] [mpirun options...]   (default: 3320000 floats, 2 ranks on loopback)
set -euo pipefail
floats="${1:-3320000}"; shift || true
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
mpicc -O2 -o "$out/bandwidth" "$(dirname "$0")/mpi-bandwidth.c"
if [ $# -eq 0 ]; then
    set -- -np 2 --oversubscribe --mca btl self,tcp --mca btl_tcp_if_include lo --mca oob_tcp_if_include lo
fi
nice -n 10 mpirun "$@" "$out/bandwidth" "$floats" 10
