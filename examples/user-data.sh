#!/bin/bash
# imgscale worker bootstrap for stack prod, written by the imgscale controller.
# It names the stack's SSM path only: settings come from SSM Parameter Store and
# credentials from the instance profile, never from user data.
set -euo pipefail

unit=imgscale-worker.service

if ! systemctl cat "$unit" >/dev/null 2>&1; then
    echo "imgscale: this AMI has no $unit; build the worker AMI with packer/. Powering off." >&2
    # InstanceInitiatedShutdownBehavior=terminate: powering off terminates the instance.
    shutdown -h now
    exit 1
fi

install -d -m 0755 /etc/imgscale
cat >/etc/imgscale/worker.env <<'EOF'
IMGSCALE_WORKER_ARGS="--config ssm:/imgscale/prod --worker-id imds --idle-exit 300"
EOF
chmod 0644 /etc/imgscale/worker.env

# The instance exists only to run the worker: when it exits for good (idle exit, drain,
# or restarts exhausted), power off, which terminates the instance.
install -d -m 0755 /etc/systemd/system/imgscale-worker.service.d
cat >/etc/systemd/system/imgscale-worker.service.d/50-imgscale-fleet.conf <<'EOF'
[Unit]
SuccessAction=poweroff
FailureAction=poweroff
EOF

systemctl daemon-reload
systemctl enable --now --no-block "$unit"
