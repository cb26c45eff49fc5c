#!/usr/bin/env bash
# Build what the VM-guest test (tests/it/vm.rs) boots: a guest kernel and a busybox initramfs for
# QEMU under TCG (no KVM needed).
#
# 1. As root with apt-get, install qemu-system-x86, cpio and busybox-static when missing.
# 2. Download Debian's cloud kernel package (`apt-get download`, the package that
#    linux-image-cloud-amd64 depends on), unpack it with `dpkg-deb -x`, keep its vmlinuz and the
#    virtio-net modules.
# 3. Build initrd.gz: static busybox, those modules, and an /init that brings eth0 up, runs the
#    checks named on the kernel command line, prints one marker line per check to the serial
#    console, and powers off.
#
# Everything lands in $BOTTLE_VM_DIR (default /var/cache/bottle-vm): vmlinuz, initrd.gz, and
# `stamp`, which records the kernel package and a hash of this script. Idempotent: with the same
# kernel package and script, a rerun changes nothing. Network: apt only.
#
# The guest's kernel command line (set by the test):
#   bottle_checks=NAME=HOST:PORT,...   GET / from each HOST:PORT, in order
#   bottle_ip=10.0.2.15/24 bottle_gw=10.0.2.2   (the defaults of QEMU's user-mode network)
# and its serial output, one line per check:
#   BOTTLE-VM-CHECK NAME rc=N status=HTTP_STATUS_LINE body=FIRST_LINE_OF_THE_BODY
# (rc is nc's exit status, or 1 when nothing came back)
#   BOTTLE-VM-DONE
#
# Environment:
#   BOTTLE_VM_DIR      output directory (default: /var/cache/bottle-vm)
#   BOTTLE_VM_KERNEL   kernel package to use (default: what linux-image-cloud-amd64 depends on)
#   BOTTLE_BUSYBOX     static busybox for the guest (default: the one busybox-static installs)
set -euo pipefail

OUT="${BOTTLE_VM_DIR:-/var/cache/bottle-vm}"
SELF="${BASH_SOURCE[0]}"
MODULES=(virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci failover net_failover virtio_net)

log() { printf 'setup-vm: %s\n' "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}
have() { command -v "$1" >/dev/null 2>&1; }
is_root() { [[ "$(id -u)" -eq 0 ]]; }

apt_updated=0
apt_install() {
    is_root && have apt-get || die "missing $*; install them (as root: apt-get install -y $*) and rerun"
    if [[ "$apt_updated" -eq 0 ]]; then
        log "running apt-get update"
        DEBIAN_FRONTEND=noninteractive apt-get update >&2
        apt_updated=1
    fi
    log "running apt-get install -y --no-install-recommends $*"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >&2
}

find_busybox() {
    local candidate
    for candidate in ${BOTTLE_BUSYBOX:+"$BOTTLE_BUSYBOX"} /usr/bin/busybox /bin/busybox; do
        if [[ -x "$candidate" ]] && ! LC_ALL=C readelf -lW "$candidate" 2>/dev/null | grep -q INTERP; then
            printf '%s\n' "$candidate"
            return 0
        fi
    done
    return 1
}

# 1. Tools.
pkgs=()
have qemu-system-x86_64 || pkgs+=(qemu-system-x86)
have cpio || pkgs+=(cpio)
have readelf || pkgs+=(binutils)
find_busybox >/dev/null || pkgs+=(busybox-static)
if ((${#pkgs[@]})); then apt_install "${pkgs[@]}"; fi
busybox="$(find_busybox)" || die "no statically linked busybox (install busybox-static or set BOTTLE_BUSYBOX)"

# 2. Which kernel, and is the cache already built from it and from this script?
kernel_pkg="${BOTTLE_VM_KERNEL:-}"
if [[ -z "$kernel_pkg" ]]; then
    kernel_pkg="$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
        awk '/Depends: linux-image-[0-9]/ {print $2; exit}')"
    if [[ -z "$kernel_pkg" ]] && is_root; then
        # A fresh machine may have no package lists yet.
        DEBIAN_FRONTEND=noninteractive apt-get update >&2
        apt_updated=1
        kernel_pkg="$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
            awk '/Depends: linux-image-[0-9]/ {print $2; exit}')"
    fi
    [[ -n "$kernel_pkg" ]] || die "apt knows no linux-image-cloud-amd64; set BOTTLE_VM_KERNEL to a kernel package"
fi
stamp="kernel=$kernel_pkg script=$(sha256sum "$SELF" | cut -c1-16) busybox=$(sha256sum "$busybox" | cut -c1-16)"
if [[ -s "$OUT/vmlinuz" && -s "$OUT/initrd.gz" && "$(cat "$OUT/stamp" 2>/dev/null)" == "$stamp" ]]; then
    log "$OUT is up to date ($stamp)"
    exit 0
fi

mkdir -p "$OUT"
work="$(mktemp -d "${TMPDIR:-/tmp}/bottle-vm.XXXXXX")"
# shellcheck disable=SC2064 # expand $work now
trap "rm -rf '$work'" EXIT

log "downloading $kernel_pkg"
(cd "$work" && apt-get -o APT::Sandbox::User=root download "$kernel_pkg" >&2) || die "apt-get download $kernel_pkg failed"
dpkg-deb -x "$work"/"$kernel_pkg"_*.deb "$work/k"
vmlinuz="$(find "$work/k/boot" -name 'vmlinuz-*' | head -1)"
[[ -n "$vmlinuz" ]] || die "$kernel_pkg has no /boot/vmlinuz-*"

# 3. The initramfs.
rd="$work/rd"
mkdir -p "$rd/bin" "$rd/proc" "$rd/sys" "$rd/dev" "$rd/mods"
cp "$busybox" "$rd/bin/busybox"
for m in "${MODULES[@]}"; do
    f="$(find "$work/k/lib/modules" -name "$m.ko*" | head -1)"
    # Some of these are built into the kernel; the rest must be there.
    if [[ -n "$f" ]]; then
        case "$f" in
            *.ko.xz) xz -dc "$f" >"$rd/mods/$m.ko" ;;
            *.ko.zst) zstd -qdc "$f" >"$rd/mods/$m.ko" ;;
            *) cp "$f" "$rd/mods/$m.ko" ;;
        esac
    elif ! grep -qw "$m" "$work/k/lib/modules/"*/modules.builtin 2>/dev/null; then
        die "$kernel_pkg has neither a $m module nor a built-in $m"
    fi
done

cat >"$rd/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci failover net_failover virtio_net; do
    [ -f /mods/$m.ko ] && insmod /mods/$m.ko 2>/dev/null
done
bottle_ip=10.0.2.15/24 bottle_gw=10.0.2.2 bottle_checks=
for kv in $(cat /proc/cmdline); do
    case $kv in bottle_*=*) eval "$kv" ;; esac
done
ip link set lo up; ip link set eth0 up
ip addr add "$bottle_ip" dev eth0; ip route add default via "$bottle_gw"
for check in $(echo "$bottle_checks" | tr , ' '); do
    name=${check%%=*}; hostport=${check#*=}
    # nc, not wget: the static (glibc) busybox's wget looks the scheme up through NSS and crashes.
    out=$(printf 'GET / HTTP/1.0\r\nHost: bundle\r\n\r\n' | nc -w 5 "${hostport%:*}" "${hostport##*:}" 2>&1); rc=$?
    [ -z "$out" ] && [ "$rc" = 0 ] && rc=1
    status=$(echo "$out" | head -1 | tr -d '\r' | head -c 40)
    body=$(echo "$out" | tr -d '\r' | sed '1,/^$/d' | head -1 | head -c 80)
    echo "BOTTLE-VM-CHECK $name rc=$rc status=$status body=$body"
done
echo BOTTLE-VM-DONE
poweroff -f
EOF
chmod 0755 "$rd/init"
(cd "$rd" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -9) >"$work/initrd.gz"

install -m 0644 "$vmlinuz" "$OUT/vmlinuz"
install -m 0644 "$work/initrd.gz" "$OUT/initrd.gz"
printf '%s\n' "$stamp" >"$OUT/stamp"
chmod 0755 "$OUT"
log "built $OUT/vmlinuz and $OUT/initrd.gz ($stamp)"
