#!/usr/bin/env bash
# Labels the images added to a folder since the last successful run, and writes the labels to a
# dated CSV (name,label,score,error). Meant for cron (see imgscale-nightly.cron beside it), on any
# machine with imgscale and credentials of the cli-user policy (examples/iam/cli-user-policy.json).
#
# usage: classify-nightly.sh INBOX OUTDIR
#
#   OUTDIR/labels-YYYY-MM-DD-HHMMSS.csv   one row per image (written whole, then renamed into place)
#   OUTDIR/.last-run                      its time stamp is when the last successful run started: files
#                                         whose status changed since (copied, moved in) are new, even
#                                         when a copy kept an older modification time
#
# The stack comes from the imgscale config file or IMGSCALE_STACK / AWS_REGION, as for any command.
# Environment: IMGSCALE (the command; default: imgscale on PATH), IMGSCALE_NIGHTLY_TIMEOUT (seconds
# to wait for the labels; default 21600, six hours).
#
# Exit codes: 0 done (or nothing new); 3 done, but some images could not be labelled (their rows
# carry the error code, and they are not retried); 4 the labels did not all arrive in time (the
# partial CSV is kept as .partial, and the next run tries those images again); 1 failure.
set -euo pipefail

inbox=${1:?usage: classify-nightly.sh INBOX OUTDIR}
outdir=${2:?usage: classify-nightly.sh INBOX OUTDIR}
imgscale=${IMGSCALE:-imgscale}
timeout=${IMGSCALE_NIGHTLY_TIMEOUT:-21600}

[ -d "$inbox" ] || { echo "classify-nightly: no folder $inbox" >&2; exit 1; }
mkdir -p "$outdir"
stamp=$outdir/.last-run

# One run at a time: a run still waiting for labels when the next one starts makes that one a no-op.
exec 9>"$outdir/.lock"
if ! flock -n 9; then
    echo "classify-nightly: another run is still going; nothing to do" >&2
    exit 0
fi

started=$(mktemp "$outdir/.started.XXXXXX")  # this run's start, taken before listing the folder
list=$(mktemp)
csv=$(mktemp "$outdir/.labels.XXXXXX")
trap 'rm -f "$started" "$list" "$csv"' EXIT

if [ -e "$stamp" ]; then
    find "$inbox" -type f -cnewer "$stamp" >"$list"
else
    find "$inbox" -type f >"$list"
fi
count=$(wc -l <"$list")
if [ "$count" -eq 0 ]; then
    echo "classify-nightly: no new files in $inbox"
    touch -r "$started" "$stamp"
    exit 0
fi

out=$outdir/labels-$(date +%F-%H%M%S).csv
echo "classify-nightly: uploading $count new files from $inbox"
status=0
"$imgscale" upload --wait --output csv --timeout "$timeout" - <"$list" >"$csv" || status=$?

case $status in
    0 | 3)
        chmod 0644 "$csv"
        mv "$csv" "$out"
        touch -r "$started" "$stamp"
        echo "classify-nightly: wrote $out ($(($(wc -l <"$out") - 1)) rows)"
        [ "$status" -eq 0 ] || echo "classify-nightly: some images could not be labelled; see the error column" >&2
        exit "$status"
        ;;
    4)
        mv "$csv" "$out.partial"
        echo "classify-nightly: not every label arrived within $timeout s; kept $out.partial, the next run retries" >&2
        exit 4
        ;;
    *)
        echo "classify-nightly: imgscale upload failed (exit $status); nothing recorded, the next run retries" >&2
        exit 1
        ;;
esac
