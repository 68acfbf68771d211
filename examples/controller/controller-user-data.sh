#!/bin/bash
# User data for an instance that runs the imgscale controller of stack "prod": a small instance
# (t3.micro is plenty) of the worker AMI, which has imgscale-controller.service, launched with the
# instance profile imgscale-prod-controller (examples/iam/create-roles.sh). The EC2 launch settings
# (ec2-*) are read from SSM, /imgscale/prod/ec2-*; see controller.env for the other way.
set -euo pipefail

stack=prod

install -d -m 0755 /etc/imgscale
cat >/etc/imgscale/controller.env <<EOF_ENV
IMGSCALE_CONTROLLER_ARGS="--config ssm:/imgscale/$stack --fleet ec2 --max 19 --events /var/log/imgscale/controller-events.jsonl"
EOF_ENV
chmod 0644 /etc/imgscale/controller.env

systemctl enable --now --no-block imgscale-controller.service
