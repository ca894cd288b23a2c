#!/usr/bin/env bash
# Installs what the tests and the demo need, or says in one line why not.
set -euo pipefail
need=()
command -v iptables >/dev/null 2>&1 || need+=(iptables)
command -v ip6tables >/dev/null 2>&1 || need+=(iptables)
command -v nft >/dev/null 2>&1 || need+=(nftables)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
[ -x /usr/bin/time ] || need+=(time) # make bench: peak RSS of each plugin process
command -v etcd >/dev/null 2>&1 || need+=(etcd-server) # the ipConfig tests' API server
command -v containerd >/dev/null 2>&1 || need+=(containerd) # the single-node cluster test (brings runc and ctr)
command -v jq >/dev/null 2>&1 || need+=(jq)
command -v iperf3 >/dev/null 2>&1 || need+=(iperf3) # make bench: the data plane's throughput
norec=() # installed without recommends (podman's pull in a desktop's worth)
command -v podman >/dev/null 2>&1 || norec+=(podman) # the Podman runtime test (CNI backend)
command -v qemu-system-x86_64 >/dev/null 2>&1 || norec+=(qemu-system-x86) # make test-kernels: the kernel-matrix VM
dpkg -s busybox-static >/dev/null 2>&1 || norec+=(busybox-static) # its initramfs (and the cpio that packs it); udhcpd for the dhcp target
# the conformance suite grades Debian's packaged plugins (/usr/lib/cni) beside the pinned ones
dpkg -s containernetworking-plugins >/dev/null 2>&1 || norec+=(containernetworking-plugins)
command -v go >/dev/null 2>&1 || { echo "deps: go is not installed (need Go 1.24 or newer in PATH)" >&2; exit 1; }
if [ "$(id -u)" != 0 ]; then
  echo "deps: must run as root (tests and the demo create network namespaces and links)" >&2; exit 1
fi
if [ $((${#need[@]} + ${#norec[@]})) -gt 0 ]; then
  command -v apt-get >/dev/null 2>&1 || { echo "deps: missing ${need[*]} ${norec[*]} and no apt-get to install them" >&2; exit 1; }
  echo "deps: installing ${need[*]} ${norec[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null || { echo "deps: apt-get update failed" >&2; exit 1; }
  if [ ${#need[@]} -gt 0 ]; then
    apt-get install -y -qq "${need[@]}" >/dev/null || { echo "deps: apt-get install ${need[*]} failed" >&2; exit 1; }
  fi
  if [ ${#norec[@]} -gt 0 ]; then
    apt-get install -y -qq --no-install-recommends "${norec[@]}" >/dev/null || { echo "deps: apt-get install ${norec[*]} failed" >&2; exit 1; }
  fi
fi
[ -d /var/run/netns ] || mkdir -p /var/run/netns
