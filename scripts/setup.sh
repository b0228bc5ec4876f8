#!/usr/bin/env bash
# Installs what berth needs on Debian 12 (as root) and builds it.
# Idempotent: safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
  echo "setup.sh: run as root (berth manages mounts, cgroups and namespaces)" >&2
  exit 1
fi

# Host tools berth drives:
#   runc, conmon            OCI runtime and per-container monitor
#   containernetworking-plugins, iptables   networking (CNI: bridge, host-local, portmap, loopback)
#   nftables                nft: the network tests put back the tables they caused
#   golang-github-containers-common          default seccomp profile (/usr/share/containers/seccomp.json)
#   busybox-static          the offline demo/test image's rootfs
#   xz-utils zstd bzip2     layer decompression
#   attr                    setfattr for layer xattrs and overlay opaque dirs
#   tini                    --init
#   iproute2 util-linux     ip, mount/umount
#   tmux                    terminal tests
#   skopeo openssl          interoperability (OCI layouts) and TLS tests
#   aardvark-dns            DNS by name on user-defined networks (podman's resolver, driven as netavark does)
#   wrk                     bench/network (published-port throughput)
#   dnsmasq-base            the DNS tests' upstream resolver on a test address (forwarding from aardvark and --dns)
#   docker-registry apache2-utils   the distribution registry the pull/push tests run (and the registry server's benchmark peer), htpasswd for its Basic auth
PKGS=(runc conmon containernetworking-plugins iptables nftables golang-github-containers-common busybox-static
      xz-utils zstd bzip2 attr tini iproute2 util-linux tmux skopeo openssl ca-certificates aardvark-dns wrk
      docker-registry apache2-utils dnsmasq-base)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

npm ci --no-audit --no-fund
npm run build
