#!/usr/bin/env bash
# Installs cfn-guard and AWS Control Tower's proactive-control rules into DIR, pinned.
# Usage: tools/install-cfn-guard.sh DIR
#
# Both come in the npm package @cdklabs/cdk-validator-cfnguard: `npm pack` fetches only its
# tarball (not its aws-cdk-lib peer), checked against the hash below. DIR then holds
# `cfn-guard` (the binary for this machine) and `rules/` (the Control Tower rules).
set -euo pipefail

PACKAGE=@cdklabs/cdk-validator-cfnguard
VERSION=0.0.62
SHA256=660c14562d4c79d524d0623d80d494e41797acae9da23ecb10915d7f66ada80c

dir=${1:?usage: tools/install-cfn-guard.sh DIR}
here=$(cd "$(dirname "$0")" && pwd)
command -v npm >/dev/null 2>&1 || "$here/system-packages.sh" npm

case "$(uname -m)" in
  x86_64 | amd64) arch=x86_64 ;;
  aarch64 | arm64) arch=aarch64 ;;
  *) echo "error: cfn-guard ships for x86_64 and aarch64 only, not $(uname -m)" >&2; exit 1 ;;
esac

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "$PACKAGE@$VERSION" >/dev/null)
tarball="$work/cdklabs-cdk-validator-cfnguard-$VERSION.tgz"
if ! echo "$SHA256  $tarball" | sha256sum -c --quiet -; then
  echo "error: $PACKAGE@$VERSION does not have the pinned hash; refusing to install it" >&2
  exit 1
fi
tar -xzf "$tarball" -C "$work" package/LICENSE package/guard-version.json \
  "package/bin/ubuntu/$arch/cfn-guard" package/rules/control-tower/cfn-guard
rm -rf "$dir"
mkdir -p "$dir"
mv "$work/package/LICENSE" "$work/package/guard-version.json" "$dir/"
mv "$work/package/bin/ubuntu/$arch/cfn-guard" "$dir/cfn-guard"
mv "$work/package/rules/control-tower/cfn-guard" "$dir/rules"
"$dir/cfn-guard" --version
