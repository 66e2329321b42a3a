#!/bin/sh
# mmdebstrap's customize hook for the OS image: $1 is the root filesystem, $2 the build's inputs
# hash. Leaves out everything that must differ per node (SSH host keys, machine-id, hostname):
# each node makes its own on first boot; the installer writes hostname, network and admin key.
set -eu
root="$1"

rm -f "$root"/etc/ssh/ssh_host_*
cat >"$root/etc/systemd/system/ssh-hostkeys.service" <<'UNIT'
[Unit]
Description=Generate this node's SSH host keys (Crowbar OS image)
Before=ssh.service
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A

[Install]
WantedBy=ssh.service
UNIT
chroot "$root" systemctl enable ssh-hostkeys.service >/dev/null 2>&1
chroot "$root" systemctl enable ssh.service >/dev/null 2>&1 || true

# An empty machine-id: systemd makes one on first boot.
: >"$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id"
echo debian >"$root/etc/hostname"
: >"$root/etc/resolv.conf"
printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"

mkdir -p "$root/etc/crowbar"
{
  echo "image=debian-12-amd64"
  echo "built_from=$2"
} >"$root/etc/crowbar/image"
# shellcheck disable=SC2016 # dpkg-query's format, not the shell's
chroot "$root" dpkg-query -W -f '${Package} ${Version}\n' >"$root/etc/crowbar/packages"
