// The script of `provisioner-os-install`, run by the script jig over SSH. On the discovery image
// (the installer) it partitions the disk, streams the OS image onto it, installs GRUB and writes
// the node's configuration; on the installed OS it only reports what is there, so the re-run the
// annealer makes after the node comes back alive never reinstalls.

/** Where the installer leaves its mark on the installed system (and the script looks for it). */
export const INSTALLED_MARKER = '/etc/crowbar/installed'

/**
 * POSIX sh for busybox ash (the discovery image) and dash (the installed OS). Input: the merged
 * attributes as one line of JSON on stdin (the script jig's JSON.stringify); the fields it reads
 * are flat and prefixed (`install_*`) because neither system has a JSON parser. Output: the wall.
 * Environment for tests only: OS_INSTALL_PLAN_ONLY=1 prints what it would do and stops;
 * OS_INSTALL_MARKER overrides the marker's path.
 */
export const OS_INSTALL_SCRIPT = String.raw`#!/bin/sh
# provisioner-os-install (Crowbar Desktop): install the OS image on this node's disk.
set -e
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
attrs="$(cat)"
log() { echo "os-install: $*" >&2; }
# Best effort: the step (and the image's percent, or why it failed) goes on this machine's boot
# timeline through the node-facing API, with the secret the discovery image got at registration.
progress() {
  [ -n "$api" ] && [ -n "$node_id" ] && [ -s /run/crowbar-node-secret ] || return 0
  body="{\"step\":\"$1\"}"
  [ -z "$2" ] || body="{\"step\":\"$1\",$2}"
  timeout 10 wget -q -O /dev/null --header 'Content-Type: application/json' \
    --header "Authorization: Bearer $(cat /run/crowbar-node-secret)" \
    --post-data "$body" "$api/api/node/$node_id/install-progress" 2>/dev/null || true
}
fail() {
  log "FAILED: $*"
  progress failed "\"message\":\"$(printf '%s' "$*" | tr -d '"\\\000-\037' | cut -c1-200)\""
  exit 1
}
# One-line JSON in, one field out (string or number), by its unique name.
json_string() { printf '%s' "$attrs" | sed -n "s/.*\"$1\":\"\([^\"\\\\]*\)\".*/\1/p"; }
json_number() { printf '%s' "$attrs" | sed -n "s/.*\"$1\":\([0-9][0-9]*\).*/\1/p"; }

marker=__MARKER__
[ -z "$OS_INSTALL_MARKER" ] || marker="$OS_INSTALL_MARKER"
if [ -f "$marker" ]; then
  # The installed OS: the install is done; say what is installed and change nothing.
  image="$(sed -n 's/^image=//p' "$marker")"
  firmware="$(sed -n 's/^firmware=//p' "$marker")"
  printf '{"provisioner":{"installed":"%s","firmware":"%s","ran_on":"installed-os"}}\n' "$image" "$firmware"
  exit 0
fi

api="$(json_string install_api)"
if [ -z "$api" ]; then
  # Not bound with boot services running: the kernel line the discovery image booted with has it.
  for word in $(cat /proc/cmdline 2>/dev/null); do
    case "$word" in crowbar.api=*) api="$(echo "$word" | sed 's/^crowbar\.api=//')" ;; esac
  done
fi
node_id="$(json_number install_node_id)"
fqdn="$(json_string install_fqdn)"
image="$(json_string install_image)"
image_path="$(json_string install_image_path)"
admin_key="$(json_string install_admin_key)"
disk="$(json_string install_disk)"
if [ -z "$disk" ]; then
  for path in /sys/block/*; do
    name="$(basename "$path")"
    case "$name" in loop* | ram* | sr* | fd* | zram* | dm-* | md*) continue ;; esac
    [ "$(cat "$path/removable" 2>/dev/null || echo 0)" = 0 ] || continue
    disk="/dev/$name"
    break
  done
fi
firmware=bios
[ -d /sys/firmware/efi ] && firmware=uefi
host="$(echo "$fqdn" | cut -d. -f1)"
[ -n "$image" ] || image=unknown
case "$disk" in
  *[0-9]) part_prefix="$disk"p ;;
  *) part_prefix="$disk" ;;
esac

if [ "$OS_INSTALL_PLAN_ONLY" = 1 ]; then
  printf '{"api":"%s","node_id":"%s","fqdn":"%s","host":"%s","image":"%s","image_path":"%s","disk":"%s","root":"%s3","esp":"%s2","firmware":"%s","admin_key":"%s"}\n' \
    "$api" "$node_id" "$fqdn" "$host" "$image" "$image_path" "$disk" "$part_prefix" "$part_prefix" "$firmware" "$admin_key"
  exit 0
fi

[ -n "$api" ] || fail "no install_api attribute and no crowbar.api= on the kernel line: where is the node-facing API?"
[ -n "$node_id" ] || fail "no install_node_id attribute"
[ -n "$fqdn" ] || fail "no install_fqdn attribute"
[ -n "$image_path" ] || fail "no install_image_path attribute"
case "$admin_key" in ssh-*) ;; *) fail "install_admin_key is not an SSH public key" ;; esac
[ -n "$disk" ] && [ -b "$disk" ] || fail "no disk to install to (found: '$disk'); set install_disk"
grep -qw ext4 /proc/filesystems || fail "this kernel cannot mount ext4 (is the ext4 module loaded?)"

target=/mnt/target
# A re-run after a crash starts over: nothing of the last attempt may stay mounted.
for m in sys proc dev boot/efi ""; do umount "$target/$m" 2>/dev/null || true; done
mkdir -p "$target"

progress partition
log "partitioning $disk (GPT: BIOS boot, EFI system, root) for $firmware"
sfdisk --quiet --wipe always --wipe-partitions always "$disk" >&2 <<'TABLE' || fail "sfdisk could not partition $disk"
label: gpt
size=1MiB, type=21686148-6449-6E6F-744E-656564454649, name="bios-boot"
size=256MiB, type=C12A7328-F81F-11D2-BA4B-00A0C93EC3B8, name="esp"
type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="root"
TABLE
esp="$part_prefix"2
root="$part_prefix"3
# devtmpfs makes the partition nodes once the kernel has read the new table.
n=0
until [ -b "$root" ] && [ -b "$esp" ]; do
  n=$((n + 1))
  [ "$n" -le 100 ] || fail "$root and $esp did not appear after partitioning"
  [ "$n" = 20 ] && partprobe "$disk" 2>/dev/null || true
  sleep 0.1
done

root_uuid="$(cat /proc/sys/kernel/random/uuid)"
# GRUB 2.06 cannot read ext4 with metadata_csum_seed or orphan_file (newer mke2fs defaults).
# e2fsprogs' mke2fs by its path: busybox ash prefers its own applet (no -t, no ext4) to PATH.
mke2fs=/usr/sbin/mke2fs
[ -x "$mke2fs" ] && [ ! -L "$mke2fs" ] || mke2fs=/sbin/mke2fs
"$mke2fs" -q -F -t ext4 -L root -U "$root_uuid" -O ^metadata_csum_seed,^orphan_file "$root" >&2 || fail "mke2fs failed on $root"
mkdosfs -n EFI "$esp" >&2 || fail "mkdosfs failed on $esp"
mount -t ext4 "$root" "$target" || fail "cannot mount $root"

log "streaming $api/files/$image_path onto $root"
progress image '"percent":0'
started=$(cut -d' ' -f1 /proc/uptime)
# The image's size (HEAD) and the bytes wget has read (/proc/PID/io) give the percent streamed.
total="$(timeout 20 wget -S --spider "$api/files/$image_path" 2>&1 | sed -n 's/^ *[Cc]ontent-[Ll]ength: *\([0-9][0-9]*\).*/\1/p' | tail -n 1 || true)"
fifo=/tmp/os-install.image
rm -f "$fifo" /tmp/os-install.unpacked
mkfifo "$fifo"
wget -q -O- "$api/files/$image_path" >"$fifo" &
wget_pid=$!
{
  # Written aside and renamed: the loop below takes the file's existence for the end.
  if zstd -d -q -c <"$fifo" | tar -x -f - -C "$target"; then echo 0; else echo 1; fi >/tmp/os-install.unpacking
  mv /tmp/os-install.unpacking /tmp/os-install.unpacked
} &
n=0
reported=0
while [ ! -e /tmp/os-install.unpacked ] && [ "$n" -lt 3600 ]; do
  sleep 2
  n=$((n + 1))
  [ -n "$total" ] && [ "$total" -gt 0 ] && [ -r "/proc/$wget_pid/io" ] || continue
  got="$(sed -n 's/^rchar: //p' "/proc/$wget_pid/io" 2>/dev/null || true)"
  [ -n "$got" ] || continue
  percent=$((got * 100 / total))
  [ "$percent" -le 99 ] || percent=99
  if [ "$percent" -ge $((reported + 10)) ]; then
    reported=$percent
    progress image "\"percent\":$percent"
  fi
done
[ -e /tmp/os-install.unpacked ] || fail "unpacking the image did not finish in 2 hours"
fetched=0
wait "$wget_pid" || fetched=$?
unpacked="$(cat /tmp/os-install.unpacked)"
[ "$fetched" = 0 ] || [ "$unpacked" = 0 ] || fail "downloading $api/files/$image_path failed (or the unpacking stopped reading it: see zstd's and tar's messages above)"
[ "$fetched" = 0 ] || fail "downloading $api/files/$image_path failed"
[ "$unpacked" = 0 ] || fail "unpacking the image failed"
rm -f "$fifo"
progress image '"percent":100'
[ -x "$target/usr/sbin/grub-install" ] || fail "the image has no /usr/sbin/grub-install: is $image_path an OS image?"
log "image unpacked in $(awk -v a="$started" '{printf "%.0f", $1 - a}' /proc/uptime) s"

mkdir -p "$target/boot/efi"
# The kernel's default FAT charset (utf8) is a module the discovery image does not carry.
mount -t vfat -o iocharset=ascii "$esp" "$target/boot/efi" || fail "cannot mount the EFI system partition $esp"
for m in dev proc sys; do mount --bind "/$m" "$target/$m" || fail "cannot bind /$m into $target"; done
esp_uuid="$(chroot "$target" grub-probe --target=fs_uuid /boot/efi 2>/dev/null || true)"

progress configure
log "writing the configuration of $fqdn"
echo "$host" >"$target/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s %s\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' "$fqdn" "$host" >"$target/etc/hosts"
{
  printf 'UUID=%s\t/\text4\terrors=remount-ro\t0\t1\n' "$root_uuid"
  if [ -n "$esp_uuid" ]; then
    printf 'UUID=%s\t/boot/efi\tvfat\tumask=0077,nofail\t0\t1\n' "$esp_uuid"
  else
    printf 'LABEL=EFI\t/boot/efi\tvfat\tumask=0077,nofail\t0\t1\n'
  fi
} >"$target/etc/fstab"
# net.ifnames=0 (below) makes the first NIC eth0; DHCP gives it the node's reserved address.
mkdir -p "$target/etc/network/interfaces.d"
printf 'source /etc/network/interfaces.d/*\n\nauto lo\niface lo inet loopback\n\nauto eth0\niface eth0 inet dhcp\n' >"$target/etc/network/interfaces"
mkdir -p "$target/root/.ssh"
chmod 0700 "$target/root/.ssh"
echo "$admin_key" >"$target/root/.ssh/authorized_keys"
chmod 0600 "$target/root/.ssh/authorized_keys"

mkdir -p "$target/etc/crowbar" "$target/usr/local/sbin"
printf 'CROWBAR_API=%s\nCROWBAR_NODE_ID=%s\n' "$api" "$node_id" >"$target/etc/crowbar/node"
# The node's secret for the node-facing API, as the discovery image got it at registration: root's alone.
[ -s /run/crowbar-node-secret ] || fail "the discovery image has no node secret (/run/crowbar-node-secret)"
(umask 077 && cp /run/crowbar-node-secret "$target/etc/crowbar/node-secret")
chmod 0600 "$target/etc/crowbar/node-secret"
cat >"$target/usr/local/sbin/crowbar-alive" <<'ALIVE'
#!/bin/sh
# Tells Crowbar this node is alive (at boot, once sshd runs) or dead (at shutdown).
. /etc/crowbar/node
state="$1"
[ -n "$state" ] || state=true
tries=60
[ "$state" = true ] || tries=3
n=0
while [ "$n" -lt "$tries" ]; do
  wget -q -O /dev/null --timeout=10 --tries=1 --header='Content-Type: application/json' \
    --header="Authorization: Bearer $(cat /etc/crowbar/node-secret)" \
    --post-data="{\"alive\":$state}" "$CROWBAR_API/api/node/$CROWBAR_NODE_ID/alive" && exit 0
  n=$((n + 1))
  sleep 2
done
echo "crowbar-alive: could not tell $CROWBAR_API that node $CROWBAR_NODE_ID is alive=$state" >&2
exit 1
ALIVE
chmod 0755 "$target/usr/local/sbin/crowbar-alive"
cat >"$target/etc/systemd/system/crowbar-alive.service" <<'UNIT'
[Unit]
Description=Report this node alive to Crowbar (dead at shutdown)
Wants=network-online.target
After=network-online.target ssh.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/sbin/crowbar-alive true
ExecStop=/usr/local/sbin/crowbar-alive false

[Install]
WantedBy=multi-user.target
UNIT
mkdir -p "$target/etc/systemd/system/multi-user.target.wants"
ln -sf /etc/systemd/system/crowbar-alive.service "$target/etc/systemd/system/multi-user.target.wants/crowbar-alive.service"

cat >"$target/etc/default/grub" <<'GRUB'
GRUB_DEFAULT=0
GRUB_TIMEOUT=0
GRUB_DISTRIBUTOR=Debian
GRUB_CMDLINE_LINUX_DEFAULT=""
GRUB_CMDLINE_LINUX="console=tty0 console=ttyS0,115200n8 net.ifnames=0"
GRUB_TERMINAL="console serial"
GRUB_SERIAL_COMMAND="serial --unit=0 --speed=115200"
GRUB

progress bootloader
log "installing GRUB for $firmware"
if [ "$firmware" = uefi ]; then
  # The removable path (EFI/BOOT/BOOTX64.EFI) boots with no NVRAM entry: none is written.
  chroot "$target" grub-install --target=x86_64-efi --efi-directory=/boot/efi --removable --no-nvram >&2 ||
    fail "grub-install (x86_64-efi) failed"
else
  chroot "$target" grub-install --target=i386-pc "$disk" >&2 || fail "grub-install (i386-pc) on $disk failed"
fi
# grub-mkconfig writes root=UUID=... only if /dev/disk/by-uuid has it; the discovery image runs no udev.
mkdir -p /dev/disk/by-uuid
ln -sf "$root" "/dev/disk/by-uuid/$root_uuid"
chroot "$target" update-grub >&2 || fail "update-grub failed"

printf 'image=%s\nfirmware=%s\ndisk=%s\nnode_id=%s\n' "$image" "$firmware" "$disk" "$node_id" >"$target$marker"
sync
for m in sys proc dev boot/efi ""; do umount "$target/$m" || fail "cannot unmount $target/$m"; done
log "installed $image on $disk ($firmware); the framework reboots the node into it"
progress done
printf '{"provisioner":{"installed":"%s","firmware":"%s","disk":"%s","ran_on":"installer"}}\n' "$image" "$firmware" "$disk"
`.replaceAll('__MARKER__', INSTALLED_MARKER)
