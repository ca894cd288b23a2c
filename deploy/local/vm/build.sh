#!/bin/bash
# build.sh CACHE [KERNEL_PACKAGE]: a kernel and a base initramfs for the kernel-matrix VMs.
#
# The kernel is a Debian one: KERNEL_PACKAGE names it (linux-image-6.1.0-57-cloud-amd64), or a
# metapackage that names the current one (linux-image-amd64, the default; linux-image-cloud-amd64);
# downloaded with apt-get and unpacked here, never installed over this machine's. The initramfs
# holds busybox, the modules the tests need, this machine's iproute2, iptables (nft and legacy),
# nft and their libraries, and init (deploy/local/vm/init). The project's binaries are not in it:
# each run appends a second cpio archive of its own (the kernel unpacks both), so this part is
# built once per kernel and per change of this folder, and cached in CACHE/KERNEL_RELEASE.
# Prints the folder holding vmlinuz and base.cpio.
set -euo pipefail
cache=$1
pkg=${2:-}
here=$(cd "$(dirname "$0")" && pwd)

need() { command -v "$1" >/dev/null || { echo "build.sh: $1 missing (make deps installs it)" >&2; exit 1; }; }
need busybox
need apt-get

# A metapackage stands for the kernel it depends on.
meta=${pkg:-linux-image-amd64}
pkg=$(apt-cache depends "$meta" 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
[ -n "$pkg" ] || pkg=$meta
case $pkg in linux-image-[0-9]*) ;; *) echo "build.sh: $meta is not a Debian kernel package" >&2; exit 1 ;; esac
release=${pkg#linux-image-}
out=$cache/$release
# The stamp is this folder's scripts and the host tools copied in: a change to either rebuilds.
stamp=$( (cat "$here/build.sh" "$here/init"; for t in ip nft xtables-nft-multi xtables-legacy-multi busybox; do sha256sum "$(command -v $t)"; done) | sha256sum | cut -c1-16)
if [ -f "$out/stamp" ] && [ "$(cat "$out/stamp")" = "$stamp" ] && [ -f "$out/vmlinuz" ] && [ -f "$out/base.cpio" ]; then
	echo "$out"
	exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"
(cd "$work" && apt-get download -q "$pkg" >&2 2>/dev/null) || { echo "build.sh: apt-get download $pkg failed" >&2; exit 1; }
dpkg-deb -x "$work"/"$pkg"_*.deb "$work/kernel"
mods=$work/kernel/lib/modules/$release

root=$work/root
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,run,tmp,var,opt/egress,lib/modules/$release}
ln -s ../run "$root/var/run"
cp "$(command -v busybox)" "$root/bin/busybox"
cp "$here/init" "$root/init"
chmod 755 "$root/init"

# Only the module folders the tests touch (20 MB of about 400), with busybox's modules.dep
# and modules.alias so modprobe, and the kernel's own requests (nft expressions, xt matches),
# find them.
for d in net/netfilter net/ipv4 net/ipv6 net/bridge net/sctp net/802 net/llc \
	net/8021q lib crypto drivers/net/ipvlan drivers/net/veth.ko drivers/net/macvlan.ko drivers/net/dummy.ko \
	drivers/net/vrf.ko; do
	mkdir -p "$(dirname "$root/lib/modules/$release/kernel/$d")"
	cp -a "$mods/kernel/$d" "$root/lib/modules/$release/kernel/$d"
done
cp "$mods"/modules.builtin "$mods"/modules.order "$root/lib/modules/$release/"
busybox depmod -b "$root" "$release"

# Host tools with every library they load; iptables' extensions are loaded with dlopen.
copy_with_libs() {
	local f lib
	for f in "$@"; do
		mkdir -p "$root$(dirname "$f")"
		cp -aL "$f" "$root$f"
		for lib in $(ldd "$f" 2>/dev/null | grep -o '/[^ ]*'); do
			[ -e "$root$lib" ] && continue
			mkdir -p "$root$(dirname "$lib")"
			cp -aL "$lib" "$root$lib"
		done
	done
}
xt=/usr/lib/x86_64-linux-gnu/xtables
copy_with_libs /usr/sbin/ip /usr/bin/nsenter /usr/sbin/nft /usr/sbin/xtables-nft-multi /usr/sbin/xtables-legacy-multi "$xt"/*.so
for v in nft legacy; do
	for t in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do
		ln -s "xtables-$v-multi" "$root/usr/sbin/${t/tables/tables-$v}"
	done
done
# iptables is iptables-nft, as Debian's alternatives choose by default.
for t in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do
	ln -s "${t/tables/tables-nft}" "$root/usr/sbin/$t"
done
cp /etc/protocols /etc/services /etc/passwd /etc/group "$root/etc/"
mkdir -p "$root/usr/share" && cp -a /usr/share/iproute2 "$root/usr/share/" 2>/dev/null || true
[ -d /etc/iproute2 ] && cp -a /etc/iproute2 "$root/etc/"

cp "$work/kernel/boot/vmlinuz-$release" "$out/vmlinuz"
(cd "$root" && find . | busybox cpio -o -H newc 2>/dev/null) >"$out/base.cpio.tmp"
mv "$out/base.cpio.tmp" "$out/base.cpio"
echo "$stamp" >"$out/stamp"
echo "$out"
