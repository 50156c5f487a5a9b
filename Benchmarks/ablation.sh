#!/usr/bin/env bash
# The STD-Net against early-fusion ablation: both models evaluated on the same held-out phantom
# patients at breathing motion 0, 5 and 10 mm. Prints one markdown table per model and keeps
# each run's report (JSON and text) in OUT; a run whose report is there already is not repeated.
#
# usage: Benchmarks/ablation.sh STD_NET_DIR EARLY_FUSION_DIR OUT [PATIENTS] [SEED]
set -euo pipefail
cd "$(dirname "$0")/.."
std_net=$1 early_fusion=$2 out=$3 patients=${4:-8} seed=${5:-1000}
stdnet=.build/release/stdnet
mkdir -p "$out"

for model in "$std_net" "$early_fusion"; do
    name=$(basename "$model")
    for motion in 0 5 10; do
        [ -s "$out/$name-motion-$motion.txt" ] && continue
        $stdnet evaluate --model "$model" --seed "$seed" --patients "$patients" --motion "$motion" \
            --json "$out/$name-motion-$motion.json" >"$out/$name-motion-$motion.partial"
        mv "$out/$name-motion-$motion.partial" "$out/$name-motion-$motion.txt"
    done
done

for model in "$std_net" "$early_fusion"; do
    name=$(basename "$model")
    echo
    echo "$name, held-out seed $seed, $patients patients"
    echo
    echo "| metric | motion 0 mm | motion 5 mm | motion 10 mm |"
    echo "| --- | ---: | ---: | ---: |"
    # Each report's summary table has rows "| metric | value |"; put the three motions side by side.
    paste -d '|' "$out/$name-motion-0.txt" "$out/$name-motion-5.txt" "$out/$name-motion-10.txt" \
        | awk -F '|' '/^[|]/ && $2 ~ /Dice|HD95|detection|accuracy|AUC/ && $2 !~ /^ *metric/ { printf "|%s|%s|%s|%s|\n", $2, $3, $7, $11 }'
done
