#!/usr/bin/env bash
# The base image `make image` builds on where gcr.io/distroless/cc-debian12
# cannot be pulled: the Debian 12 packages distroless `cc` is made of (libc6,
# libgcc-s1, ca-certificates), a passwd with `nonroot` (65532) and a /tmp.
# No shell, no package manager: what the production base has, and no more.
set -euo pipefail
name=${1:?usage: base.sh IMAGE_NAME}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
apt-get download libc6 libgcc-s1 ca-certificates >/dev/null 2>&1 \
  || { apt-get update -qq && apt-get download libc6 libgcc-s1 ca-certificates >/dev/null; }
mkdir rootfs
for deb in *.deb; do dpkg-deb -x "$deb" rootfs; done
# dpkg-deb runs no maintainer scripts: write the bundle update-ca-certificates would.
mkdir -p rootfs/etc/ssl/certs
cat rootfs/usr/share/ca-certificates/mozilla/*.crt > rootfs/etc/ssl/certs/ca-certificates.crt
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' > rootfs/etc/passwd
printf 'root:x:0:\nnonroot:x:65532:\n' > rootfs/etc/group
mkdir -p rootfs/tmp rootfs/home/nonroot
chmod 1777 rootfs/tmp
chown 65532:65532 rootfs/home/nonroot
# Debian 12 ships /lib and /lib64 in its packages, merged into /usr by base-files.
[ -e rootfs/lib64/ld-linux-x86-64.so.2 ] || [ -e rootfs/lib/ld-linux-aarch64.so.1 ] \
  || { echo "error: the base has no dynamic loader (libc6 did not unpack as expected)" >&2; exit 1; }
tar -C rootfs -c . | podman import --quiet - "$name" >/dev/null
echo "base image $name: libc6 libgcc-s1 ca-certificates ($(grep -c 'BEGIN CERTIFICATE' rootfs/etc/ssl/certs/ca-certificates.crt) CA certificates)"
