#!/usr/bin/env bash
# Sets berth up and runs its main job end to end: the daemon, an image built
# offline from the host's busybox-static, and a container printing a line.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

bash scripts/setup.sh

SOCK=${BERTH_SOCK:-/run/berth/berth.sock}
export BERTH_HOST=unix://$SOCK
BERTH=(node "$ROOT/dist/bin/berth.js")

# Start berthd unless one is already answering.
if ! "${BERTH[@]}" version >/dev/null 2>&1; then
  mkdir -p /var/log
  # The demo's containers need no way out of this machine: no masquerading, no
  # forwarding. A daemon of your own takes dockerd's defaults (both on).
  nohup node "$ROOT/dist/src/daemon/main.js" -H "unix://$SOCK" --ip-masq=false --ip-forward=false >>/var/log/berthd.log 2>&1 &
  for _ in $(seq 1 100); do
    "${BERTH[@]}" version >/dev/null 2>&1 && break
    sleep 0.1
  done
  "${BERTH[@]}" version >/dev/null || { echo "berthd did not start; see /var/log/berthd.log" >&2; exit 1; }
fi

# A busybox image without internet: the host's busybox-static as a rootfs.
if ! "${BERTH[@]}" image inspect busybox >/dev/null 2>&1; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  mkdir -p "$work/rootfs/bin" "$work/rootfs/etc" "$work/rootfs/tmp" "$work/rootfs/root"
  cp /bin/busybox "$work/rootfs/bin/busybox"
  for cmd in $(/bin/busybox --list); do
    [ "$cmd" = busybox ] || ln -sf busybox "$work/rootfs/bin/$cmd"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$work/rootfs/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' > "$work/rootfs/etc/group"
  tar -C "$work/rootfs" --numeric-owner -cf - . | xz -T0 -1 > "$work/rootfs.tar.xz"
  "${BERTH[@]}" import -c 'CMD ["sh"]' "$work/rootfs.tar.xz" busybox
fi

"${BERTH[@]}" run --rm busybox echo hello from berth
