#!/usr/bin/env bash
# Runs as root on the build instance (Amazon Linux 2023), from packer/worker.pkr.hcl, after the
# jar, the launcher and the systemd units were copied to /tmp. Environment, set by the template:
#   IMGSCALE_ARCH          x86_64 or arm64: the jar must hold that platform's native libraries
#   IMGSCALE_ASSET_LIST    "file url sha256" entries separated by ";", from the model catalog: the
#                          models and their labels
#   IMGSCALE_SMOKE_MODEL   the model the smoke test classifies with
#   IMGSCALE_SMOKE_IMAGE   "file url sha256" of a development photo for the smoke test
set -euo pipefail

: "${IMGSCALE_ARCH:?}" "${IMGSCALE_ASSET_LIST:?}" "${IMGSCALE_SMOKE_MODEL:?}" "${IMGSCALE_SMOKE_IMAGE:?}"

prefix=/opt/imgscale
models=$prefix/models          # IMGSCALE_ASSETS of both units
cache=/var/cache/imgscale      # CacheDirectory= of both units
home=/var/lib/imgscale         # StateDirectory= of both units, and the user's home

log() { echo "imgscale-ami: $*"; }

# Downloads $2 to $3 and checks its SHA-256 against $1 before keeping it.
fetch() {
    local sha=$1 url=$2 dest=$3 tmp
    tmp=$(mktemp "$dest.XXXXXX")
    log "downloading $url"
    curl --fail --silent --show-error --location --proto '=https' --retry 5 --retry-delay 3 \
        --connect-timeout 20 --output "$tmp" "$url"
    if ! echo "$sha  $tmp" | sha256sum --check --status; then
        log "SHA-256 mismatch for $url: expected $sha, got $(sha256sum "$tmp" | cut -d' ' -f1)" >&2
        rm -f "$tmp"
        exit 1
    fi
    chmod 0644 "$tmp"
    mv "$tmp" "$dest"
}

log "installing Amazon Corretto 17"
dnf install -y -q java-17-amazon-corretto-headless
java -version 2>&1 | head -1

# The jar must carry this architecture's natives (mvn -Djavacpp.platform=linux-arm64 for Graviton).
case $IMGSCALE_ARCH in
    x86_64) platform=linux-x86_64 ;;
    arm64) platform=linux-arm64 ;;
    *) log "unknown architecture $IMGSCALE_ARCH" >&2; exit 1 ;;
esac
# (The listing is read whole: `unzip | grep -q` under pipefail fails when grep stops reading early.)
listing=$(unzip -Z1 /tmp/imgscale.jar)
if ! grep -q "/$platform/" <<<"$listing"; then
    log "the jar has no $platform native libraries: build it with mvn -Djavacpp.platform=$platform package" >&2
    exit 1
fi

if ! id imgscale >/dev/null 2>&1; then
    log "creating the imgscale system user"
    useradd --system --user-group --home-dir "$home" --no-create-home --shell /sbin/nologin imgscale
fi

log "installing imgscale under $prefix"
install -d -m 0755 "$prefix" "$prefix/bin" "$prefix/lib" "$models" /etc/imgscale
install -m 0644 /tmp/imgscale.jar "$prefix/lib/imgscale.jar"
install -m 0755 /tmp/imgscale-launcher "$prefix/bin/imgscale"
ln -sf "$prefix/bin/imgscale" /usr/local/bin/imgscale

# The models and labels, checked against the catalog's SHA-256, so no worker downloads at boot.
IFS=';' read -ra assets <<<"$IMGSCALE_ASSET_LIST"
for asset in "${assets[@]}"; do
    read -r file url sha <<<"$asset"
    [ -n "$file" ] || continue
    case $file in */* | .*) log "bad asset file name '$file'" >&2; exit 1 ;; esac
    fetch "$sha" "$url" "$models/$file"
done

log "installing the systemd units (not enabled: the instance's user data starts the one it needs)"
install -m 0644 /tmp/imgscale-worker.service /tmp/imgscale-controller.service /etc/systemd/system/
systemctl daemon-reload

# Smoke test, as the service user with the workers' environment and downloads forbidden: the
# model loads from $models and labels a photo. It also unpacks the native libraries into the
# cache the units use, so that a worker does not spend its first seconds doing it.
install -d -m 0700 -o imgscale -g imgscale "$cache" "$home"
smoke=$(mktemp -d)
trap 'rm -rf "$smoke"' EXIT
read -r smoke_file smoke_url smoke_sha <<<"$IMGSCALE_SMOKE_IMAGE"
fetch "$smoke_sha" "$smoke_url" "$smoke/$smoke_file"
chmod 0755 "$smoke"
log "smoke test: classifying $smoke_file with $IMGSCALE_SMOKE_MODEL, offline, as imgscale"
output=$(cd / && runuser -u imgscale -- env -i PATH=/usr/bin:/bin HOME="$home" \
    IMGSCALE_ASSETS="$models" IMGSCALE_CACHE="$cache" IMGSCALE_OFFLINE=1 \
    JAVA_OPTS="-Dorg.bytedeco.javacpp.cachedir=$cache/javacpp" \
    "$prefix/bin/imgscale" classify --model "$IMGSCALE_SMOKE_MODEL" --output csv "$smoke/$smoke_file")
echo "$output"
if ! echo "$output" | grep -q "^$smoke_file,[^,]\+,[0-9.]\+,$"; then
    log "the smoke test did not label $smoke_file" >&2
    exit 1
fi

# Class data sharing archive of the classes a worker loads, beside the jar, where bin/imgscale maps
# it for every start (about half a second off each scale-out; see docs/benchmarks.md, "Worker start").
# Made with a short bench pipeline run on the smoke image, with a throwaway cache so that nothing
# root-owned lands in the workers' cache; the launcher gives it the same JIT options as a worker.
log "class data sharing archive for faster worker starts"
cds_cache=$(mktemp -d)
(cd / && env -i PATH=/usr/bin:/bin HOME=/root IMGSCALE_ASSETS="$models" IMGSCALE_CACHE="$cds_cache" IMGSCALE_OFFLINE=1 \
    JAVA_OPTS="-Dorg.bytedeco.javacpp.cachedir=$cds_cache/javacpp" \
    "$prefix/bin/imgscale" cds-archive --model "$IMGSCALE_SMOKE_MODEL" "$smoke/$smoke_file")
rm -rf "$cds_cache"
chmod 0644 "$prefix/lib/imgscale.jsa"

log "cleaning up"
rm -f /tmp/imgscale.jar /tmp/imgscale-launcher /tmp/imgscale-worker.service /tmp/imgscale-controller.service
dnf clean all -q
log "done"
