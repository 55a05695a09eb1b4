#!/usr/bin/env bash
# Two "hosts" on this one machine: network namespaces joined by a veth pair, with mpirun
# launching across them through `ip netns exec` in place of ssh. Trains a tiny model over TCP on
# the veth link with -np 2 (one rank per namespace), checks that the weights are bit-identical to
# one process's, and tears everything down. Needs root (ip netns) and Open MPI.
#   scripts/mpi-netns.sh [path/to/quill]
set -euo pipefail
quill=$(realpath "${1:-.build/debug/quill}")
[ -x "$quill" ] || { echo "error: $quill is not built; run swift build first" >&2; exit 1; }
command -v mpirun >/dev/null || { echo "error: mpirun is missing; apt-get install openmpi-bin libopenmpi-dev" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "error: ip netns needs root" >&2; exit 1; }

tag="q$$"
a="${tag}a" b="${tag}b"              # namespace names
ip_a=10.77.$(( $$ % 250 )).1 ip_b=10.77.$(( $$ % 250 )).2
work=$(mktemp -d)
cleanup() {
    ip netns del "$a" 2>/dev/null || true
    ip netns del "$b" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

ip netns add "$a"
ip netns add "$b"
ip link add "${tag}va" type veth peer name "${tag}vb"
ip link set "${tag}va" netns "$a"
ip link set "${tag}vb" netns "$b"
ip -n "$a" addr add "$ip_a/24" dev "${tag}va"
ip -n "$b" addr add "$ip_b/24" dev "${tag}vb"
for ns in "$a" "$b"; do ip -n "$ns" link set lo up; done
ip -n "$a" link set "${tag}va" up
ip -n "$b" link set "${tag}vb" up
ip -n "$a" route get "$ip_b" >/dev/null
echo "hosts: $ip_a in namespace $a, $ip_b in namespace $b, joined by a veth pair"

# The launcher: mpirun calls "AGENT HOST COMMAND..." as it would call ssh; the host's address names its namespace.
cat > "$work/netns-exec" <<AGENT
#!/bin/sh
host=\$1; shift
case "\$host" in
  $ip_a) ns=$a ;;
  $ip_b) ns=$b ;;
  *) echo "netns-exec: unknown host \$host" >&2; exit 1 ;;
esac
exec ip netns exec "\$ns" /bin/sh -c "\$*"
AGENT
chmod +x "$work/netns-exec"
printf '%s slots=1\n%s slots=1\n' "$ip_a" "$ip_b" > "$work/hosts"

python3 - "$work/corpus.txt" <<'PY'
import random, sys
random.seed(7)
words = "the king and queen of a river said unto them light was good night day it is in my heart".split()
with open(sys.argv[1], "w") as f:
    for i in range(500):
        f.write(" ".join(random.choice(words) for _ in range(8)) + ".\n")
        if i % 12 == 11: f.write("%\n")
PY
args=(train "$work/corpus.txt" --doc-separator % --embed 8 --hidden 24 --dropout 0.2 --batch 6 --seq 16
      --steps 30 --eval-every 10 --sample-length 0)

"$quill" "${args[@]}" --out "$work/one" >/dev/null
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# mpirun runs in the first namespace, so its daemon and rank 0 are there and rank 1's daemon
# reaches it over the veth link; both the launch (oob) and the data (btl) use that subnet only.
ip netns exec "$a" mpirun -np 2 --hostfile "$work/hosts" --map-by node \
    --mca plm_rsh_agent "$work/netns-exec" \
    --mca btl self,tcp --mca btl_tcp_if_include "$ip_a/24" --mca oob_tcp_if_include "$ip_a/24" \
    --mca btl_base_verbose 0 \
    sh -c 'echo "rank $OMPI_COMM_WORLD_RANK runs in namespace $(ip netns identify $$)" >&2; exec "$@"' sh \
    "$quill" "${args[@]}" --out "$work/two" | grep -E "ranks:|stopped:"
if command -v mpicc >/dev/null; then
    # The link's bandwidth for one medium gradient (13.3 MB), and the ordered sum over it.
    mpicc -O2 -o "$work/bandwidth" "$(dirname "$0")/mpi-bandwidth.c"
    ip netns exec "$a" mpirun -np 2 --hostfile "$work/hosts" --map-by node --mca plm_rsh_agent "$work/netns-exec" \
        --mca btl self,tcp --mca btl_tcp_if_include "$ip_a/24" --mca oob_tcp_if_include "$ip_a/24" \
        "$work/bandwidth" 3320000 10 | sed 's/^/veth link: /'
fi
bytes_a=$(ip -n "$a" -s link show "${tag}va" | awk '/TX:/{getline; print $1}')
echo "veth traffic from namespace $a: $bytes_a bytes sent"

python3 - "$work/one/training-state.safetensors" "$work/two/training-state.safetensors" <<'PY'
import json, struct, sys
def tensors(path):
    data = open(path, "rb").read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]
    return {k: body[v["data_offsets"][0]:v["data_offsets"][1]] for k, v in header.items() if k != "__metadata__"}
one, two = tensors(sys.argv[1]), tensors(sys.argv[2])
for name in ("weights", "adam.m", "adam.v", "lstm.h", "lstm.c"):
    if one[name] != two[name]:
        sys.exit(f"FAIL: {name} differs between one process and two namespaces")
print("same weights: two ranks in two namespaces over TCP give the bits of one process")
PY
