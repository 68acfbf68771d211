#!/usr/bin/env bash
# Creates, or brings up to date, the IAM side of one imgscale stack from the policies beside this
# script, with the AWS CLI and the credentials of an IAM administrator:
#
#   policies                  imgscale-STACK-worker, imgscale-STACK-controller,
#                             imgscale-STACK-cli-user, imgscale-STACK-stack-admin
#   role + instance profile   imgscale-STACK-worker      (trusted by EC2; the worker policy)
#   role + instance profile   imgscale-STACK-controller  (trusted by EC2; the controller policy),
#                             for an instance that runs the controller
#
# It attaches cli-user and stack-admin to nobody: attach them to the users, groups or roles that
# run `imgscale upload/results/status/reset/serve` and `imgscale init/destroy`.
#
# Images read in place (`imgscale upload s3://BUCKET/...`): SOURCE_BUCKETS="photos,archive" grants
# the workers (and uploaders) read access to those buckets, as the stack's source-buckets says;
# each line of a policy naming {{source-bucket}} is written once per bucket (none: left out).
#
# usage: create-roles.sh STACK [REGION]      REGION: default AWS_REGION, else the CLI's region
#        create-roles.sh --print DIR STACK [REGION]
#                                            only write the four policies, filled in, to DIR
#        create-roles.sh --delete STACK      delete all of the above (detach the cli-user and
#                                            stack-admin policies from their users first)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
print_to=
delete=
if [ "${1:-}" = --print ]; then
    print_to=${2:?usage: create-roles.sh --print DIR STACK [REGION]}
    shift 2
elif [ "${1:-}" = --delete ]; then
    delete=yes
    shift
fi
stack=${1:?usage: create-roles.sh STACK [REGION]}
region=${2:-${AWS_REGION:-$(aws configure get region || true)}}

if ! [[ $stack =~ ^[a-z0-9][a-z0-9-]{0,27}$ ]]; then
    echo "create-roles.sh: the stack name '$stack' must be 1-28 characters of a-z, 0-9 and '-'." >&2
    exit 2
fi
if [ -z "$region" ] && [ -z "$delete" ]; then
    echo "create-roles.sh: no region: pass it after the stack name or set AWS_REGION." >&2
    exit 2
fi
account=$(aws sts get-caller-identity --query Account --output text)

source_buckets=${SOURCE_BUCKETS:-}
if [ -n "$source_buckets" ] && ! [[ $source_buckets =~ ^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](,[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])*$ ]]; then
    echo "create-roles.sh: SOURCE_BUCKETS must be bucket names separated by commas: '$source_buckets'." >&2
    exit 2
fi

# The policy template $1, its placeholders filled in; a {{source-bucket}} line once per source bucket.
render() {
    awk -v buckets="$source_buckets" '
        /\{\{source-bucket}}/ { n = split(buckets, b, ","); for (i = 1; i <= n; i++) { line = $0; gsub(/\{\{source-bucket}}/, b[i], line); print line } next }
        { print }' "$here/$1" \
        | sed -e "s/{{stack}}/$stack/g" -e "s/{{account}}/$account/g" -e "s/{{region}}/$region/g"
}

roles=(worker controller cli-user stack-admin)

if [ -n "$delete" ]; then
    for name in "imgscale-$stack-worker" "imgscale-$stack-controller"; do
        if aws iam get-instance-profile --instance-profile-name "$name" >/dev/null 2>&1; then
            aws iam remove-role-from-instance-profile --instance-profile-name "$name" --role-name "$name" 2>/dev/null || true
            aws iam delete-instance-profile --instance-profile-name "$name"
            echo "deleted profile $name"
        fi
        if aws iam get-role --role-name "$name" >/dev/null 2>&1; then
            aws iam detach-role-policy --role-name "$name" --policy-arn "arn:aws:iam::$account:policy/$name" 2>/dev/null || true
            aws iam delete-role --role-name "$name"
            echo "deleted role    $name"
        fi
    done
    for role in "${roles[@]}"; do
        arn="arn:aws:iam::$account:policy/imgscale-$stack-$role"
        if aws iam get-policy --policy-arn "$arn" >/dev/null 2>&1; then
            for version in $(aws iam list-policy-versions --policy-arn "$arn" \
                --query 'Versions[?!IsDefaultVersion].VersionId' --output text); do
                aws iam delete-policy-version --policy-arn "$arn" --version-id "$version"
            done
            aws iam delete-policy --policy-arn "$arn"
            echo "deleted policy  $arn"
        fi
    done
    exit 0
fi

if [ -n "$print_to" ]; then
    mkdir -p "$print_to"
    for role in "${roles[@]}"; do
        render "$role-policy.json" >"$print_to/imgscale-$stack-$role.json"
        echo "$print_to/imgscale-$stack-$role.json"
    done
    exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# A customer managed policy named $1 with the document $2: created, or given a new default version.
ensure_policy() {
    local name=$1 document=$2 arn="arn:aws:iam::$account:policy/$1" oldest
    if aws iam get-policy --policy-arn "$arn" >/dev/null 2>&1; then
        # IAM keeps at most five versions of a policy: drop the oldest spare one first.
        if [ "$(aws iam list-policy-versions --policy-arn "$arn" --query 'length(Versions)' --output text)" -ge 5 ]; then
            oldest=$(aws iam list-policy-versions --policy-arn "$arn" \
                --query 'sort_by(Versions[?!IsDefaultVersion], &CreateDate)[0].VersionId' --output text)
            aws iam delete-policy-version --policy-arn "$arn" --version-id "$oldest"
        fi
        aws iam create-policy-version --policy-arn "$arn" --policy-document "file://$document" --set-as-default >/dev/null
        echo "updated policy  $arn"
    else
        aws iam create-policy --policy-name "$name" --policy-document "file://$document" \
            --description "imgscale stack $stack: $3" >/dev/null
        echo "created policy  $arn"
    fi
}

# A role named $1 that EC2 instances may assume, with the policy $2 attached, and an instance
# profile of the same name holding it.
ensure_instance_role() {
    local name=$1 policy_arn=$2 holds
    if ! aws iam get-role --role-name "$name" >/dev/null 2>&1; then
        aws iam create-role --role-name "$name" --assume-role-policy-document "file://$here/ec2-trust-policy.json" \
            --description "imgscale stack $stack" >/dev/null
        echo "created role    $name"
    fi
    aws iam attach-role-policy --role-name "$name" --policy-arn "$policy_arn"
    if ! aws iam get-instance-profile --instance-profile-name "$name" >/dev/null 2>&1; then
        aws iam create-instance-profile --instance-profile-name "$name" >/dev/null
        echo "created profile $name"
    fi
    holds=$(aws iam get-instance-profile --instance-profile-name "$name" \
        --query 'InstanceProfile.Roles[].RoleName' --output text 2>/dev/null || true)
    if ! grep -qw "$name" <<<"$holds"; then
        aws iam add-role-to-instance-profile --instance-profile-name "$name" --role-name "$name"
    fi
}

for role in "${roles[@]}"; do
    render "$role-policy.json" >"$work/$role.json"
    ensure_policy "imgscale-$stack-$role" "$work/$role.json" "$role"
done
ensure_instance_role "imgscale-$stack-worker" "arn:aws:iam::$account:policy/imgscale-$stack-worker"
ensure_instance_role "imgscale-$stack-controller" "arn:aws:iam::$account:policy/imgscale-$stack-controller"

cat <<DONE

Stack $stack in account $account, region $region:
  workers' instance profile:     imgscale-$stack-worker  (ec2-instance-profile, or the launch template's)
  controller instance profile:   imgscale-$stack-controller
  attach to people:              arn:aws:iam::$account:policy/imgscale-$stack-cli-user
                                 arn:aws:iam::$account:policy/imgscale-$stack-stack-admin
New instance profiles take a few seconds to be usable by EC2.
DONE
