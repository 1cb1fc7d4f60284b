#!/usr/bin/env bash
# `make image`: the release binary in an image, through the final stage of
# deploy/Dockerfile (its USER, EXPOSE, ENTRYPOINT and CMD as they are), on a
# base assembled from Debian packages (base.sh) because no container registry
# can be reached here. Set IMAGE_BASE to build on another base (the real
# gcr.io/distroless/cc-debian12:nonroot where it can be pulled).
set -euo pipefail
cd "$(dirname "$0")/../.."
IMAGE=${IMAGE:-localhost/ecs-operator:dev}
LOCAL_BASE=localhost/ecs-operator-base:debian12
export CONTAINERS_CONF=${CONTAINERS_CONF:-$PWD/deploy/image/containers.conf}

if ! command -v podman >/dev/null || [ ! -x /usr/sbin/runc ]; then
  [ "$(id -u)" = 0 ] || { echo "error: podman and runc are missing: apt-get install -y podman buildah runc (as root)" >&2; exit 1; }
  echo "installing podman, buildah and runc (Debian packages)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman buildah runc >/dev/null
fi

base=${IMAGE_BASE:-$LOCAL_BASE}
if [ -z "${IMAGE_BASE:-}" ] && ! podman image exists "$LOCAL_BASE"; then
  deploy/image/base.sh "$LOCAL_BASE"
fi

# As the Dockerfile's builder does: release, locked, symbols stripped.
CARGO_PROFILE_RELEASE_STRIP=symbols ${CARGO:-cargo} build --release --locked --bin ecs-operator
target=$(${CARGO:-cargo} metadata --format-version 1 --no-deps | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')

context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
cp "$target/release/ecs-operator" "$context/ecs-operator"
# The final stage: from its FROM to the end, with the base and the binary's
# source swapped for the local ones. Anything else in it is used as written.
awk '/^FROM /{stage=""} {stage = stage $0 "\n"} END {printf "%s", stage}' deploy/Dockerfile \
  | sed -e "s|^FROM .*|FROM $base|" \
        -e "s|^COPY --from=build /ecs-operator /ecs-operator|COPY ecs-operator /ecs-operator|" \
  > "$context/Containerfile"
grep -q '^COPY ecs-operator /ecs-operator$' "$context/Containerfile" \
  || { echo "error: deploy/Dockerfile's final stage no longer copies /ecs-operator from the build stage; update deploy/image/build.sh" >&2; exit 1; }
podman build --quiet --file "$context/Containerfile" --tag "$IMAGE" "$context" >/dev/null
size=$(podman image inspect "$IMAGE" --format '{{.Size}}')
echo "image $IMAGE on $base: $((size / 1024 / 1024)) MiB ($size bytes)"
