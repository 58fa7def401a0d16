#!/usr/bin/env bash
# One-off mechanical rename (record fields accuracy* -> quality*), kept while branches merge; delete after.
set -euo pipefail
files=$(grep -rlE "\.accuracy\b|\baccuracy=|accuracy_ci_" --include=*.py engine app pages bench tests || true)
[ -z "$files" ] || sed -i -E 's/\.accuracy_ci_(low|high)\b/.quality_ci_\1/g; s/\baccuracy_ci_(low|high)=/quality_ci_\1=/g; s/\.accuracy\b/.quality/g; s/\baccuracy=/quality=/g' $files
files=$(grep -rl 'ok_records(records, "accuracy"\|y: str = "accuracy"' --include=*.py engine || true)
[ -z "$files" ] || sed -i 's/ok_records(records, "accuracy"/ok_records(records, "quality"/g; s/y: str = "accuracy"/y: str = "quality"/' $files
files=$(grep -rlE "accuracy_kept_pct|keeps_accuracy|KEEP_ACCURACY" --include=*.py engine app pages bench tests || true)
[ -z "$files" ] || sed -i 's/accuracy_kept_pct/quality_kept_pct/g; s/keeps_accuracy/keeps_quality/g; s/KEEP_ACCURACY/KEEP_QUALITY/g' $files
files=$(grep -rl "fmt_accuracy" --include=*.py engine app pages bench tests || true); [ -z "$files" ] || sed -i "s/fmt_accuracy/fmt_score/g" $files
files=$(grep -rl "accuracy_energy_chart\|accuracy_change_pts" --include=*.py engine app pages bench tests || true); [ -z "$files" ] || sed -i "s/accuracy_energy_chart/quality_energy_chart/g; s/accuracy_change_pts/quality_change_pts/g" $files
