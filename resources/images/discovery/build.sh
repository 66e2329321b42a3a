# shellcheck shell=bash
# Sourced by build-images.sh (in a subshell, with its helpers): the discovery image (kernel and
# initramfs), the iPXE boot files and the UEFI local-boot loader (grub-local.efi), into
# $OUT/discovery and $OUT.

require_tools dpkg-deb=dpkg cpio=cpio zstd=zstd readelf=binutils

# --- What goes in -------------------------------------------------------------------------------
# Programs copied into the initramfs with the libraries they need (busybox-static needs none).
# ipmitool reads the machine's BMC in band (/dev/ipmi0) for the registration.
TOOL_PACKAGES=(busybox-static dropbear-bin fdisk e2fsprogs zstd ipmitool)
INITRD_PROGRAMS=(usr/sbin/dropbear usr/bin/dropbearkey sbin/sfdisk usr/sbin/sfdisk sbin/mke2fs usr/sbin/mke2fs usr/bin/zstd usr/bin/ipmitool)
# Modules the discovery image loads, each after its dependencies. Early: what registration needs
# (NICs, disks, virtio-rng so the kernel's random pool is ready for dropbear's host key). Late,
# after reporting alive: what an install mounts.
MODULES_EARLY=(virtio_pci virtio_net e1000 virtio_rng virtio_blk virtio_scsi ahci sd_mod)
MODULES_LATE=(crc32c_generic ext4 vfat nls_cp437 nls_ascii efivarfs)
# Loaded just before registering, on their own: the BMC's system interface (KCS/SMIC/BT) and /dev/ipmi0.
MODULES_BMC=(ipmi_msghandler ipmi_devintf ipmi_si)

ensure_apt_lists
kernel_package="$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -n1)"
[ -n "$kernel_package" ] || die "apt-cache knows no linux-image-amd64: run apt-get update, or check /etc/apt/sources.list"
# The libraries the programs need: the tool packages' dependency closure, libraries only.
mapfile -t library_packages < <(
  apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks --no-replaces --no-enhances \
    "${TOOL_PACKAGES[@]}" 2>/dev/null | grep -E '^(lib[a-z0-9.+-]+|zlib1g)$' | sort -u
)
((${#library_packages[@]} > 0)) || die "apt-cache depends found no library packages for ${TOOL_PACKAGES[*]}"
# GRUB for the UEFI local-boot loader: grub-mkimage (grub-common) and its x86_64-efi modules.
GRUB_PACKAGES=(grub-common grub-efi-amd64-bin)
GRUB_MODULES=(memdisk tar normal configfile minicmd echo test search search_fs_file chain part_gpt part_msdos fat)
PACKAGES=("${TOOL_PACKAGES[@]}" "${library_packages[@]}" "$kernel_package" ipxe "${GRUB_PACKAGES[@]}")

# Package file names carry their versions: with our own files they make the cache key.
uris="$(apt-get download --print-uris "${PACKAGES[@]}" 2>&1)" || die "apt-get cannot resolve the packages (try apt-get update): ${uris}"
inputs_hash="$(inputs_hash_of discovery "$uris")"
if up_to_date discovery "$inputs_hash" discovery/vmlinuz discovery/initrd.img undionly.kpxe ipxe.efi snponly.efi grub-local.efi; then
  return 0
fi

started=$(date +%s)
WORK="$(mktemp -d "$OUT/.build-discovery.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
DEBS="$WORK/debs"
PKGROOT="$WORK/pkgroot"
ROOT="$WORK/initrd"
mkdir -p "$DEBS" "$PKGROOT" "$ROOT" "$WORK/kernel" "$WORK/ipxe" "$WORK/grub"

say "discovery: downloading ${#PACKAGES[@]} packages (kernel: $kernel_package)"
# As root, apt's sandbox user cannot write a private temp dir: download as root there.
(cd "$DEBS" && apt-get -q -o APT::Sandbox::User=root download "${PACKAGES[@]}" >/dev/null) ||
  die "apt-get download failed (is the Debian mirror reachable? run apt-get update)"
for deb in "$DEBS"/*.deb; do
  case "$(basename "$deb")" in
    linux-image-*) dpkg-deb -x "$deb" "$WORK/kernel" ;;
    ipxe_*) dpkg-deb -x "$deb" "$WORK/ipxe" ;;
    grub-common_* | grub-efi-amd64-bin_*) dpkg-deb -x "$deb" "$WORK/grub" ;;
    *) dpkg-deb -x "$deb" "$PKGROOT" ;;
  esac
done

# --- The initramfs tree -------------------------------------------------------------------------
mkdir -p "$ROOT"/{bin,sbin,usr/bin,usr/sbin,etc/dropbear,etc/crowbar,lib/x86_64-linux-gnu,lib64,proc,sys,dev,run,tmp,root/.ssh,var/log,mnt,usr/share/udhcpc}
chmod 700 "$ROOT/root" "$ROOT/root/.ssh"
chmod 1777 "$ROOT/tmp"

busybox="$PKGROOT/bin/busybox"
[ -x "$busybox" ] || die "busybox-static has no bin/busybox"
cp "$busybox" "$ROOT/bin/busybox"
# One link per applet, where the applet says it belongs (bin, sbin, usr/bin, usr/sbin).
while read -r applet; do
  [ "$applet" = "/bin/busybox" ] && continue
  target="$ROOT$applet"
  [ -e "$target" ] || ln -s /bin/busybox "$target"
done < <("$ROOT/bin/busybox" --list-full | sed 's|^|/|')

# Libraries by ELF DT_NEEDED, resolved inside the extracted packages (never this machine's copies).
LIBDIRS=("$PKGROOT/lib/x86_64-linux-gnu" "$PKGROOT/usr/lib/x86_64-linux-gnu")
declare -A copied_libs=()
find_library() {
  local dir
  for dir in "${LIBDIRS[@]}"; do
    if [ -e "$dir/$1" ]; then
      printf '%s\n' "$dir/$1"
      return 0
    fi
  done
  return 1
}
copy_libraries_of() {
  local needed lib
  for needed in $(readelf -d "$1" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\].*/\1/p'); do
    [ -n "${copied_libs[$needed]:-}" ] && continue
    lib="$(find_library "$needed")" || die "library $needed (needed by ${1#"$PKGROOT"/}) is in none of the downloaded packages"
    copied_libs[$needed]=1
    cp -L "$lib" "$ROOT/lib/x86_64-linux-gnu/$needed"
    copy_libraries_of "$lib"
  done
}
for program in "${INITRD_PROGRAMS[@]}"; do
  [ -f "$PKGROOT/$program" ] || continue
  name="$(basename "$program")"
  dest="$ROOT/usr/sbin/$name"
  case "$program" in */bin/*) dest="$ROOT/usr/bin/$name" ;; esac
  rm -f "$ROOT/bin/$name" "$ROOT/sbin/$name" "$ROOT/usr/bin/$name" "$ROOT/usr/sbin/$name" # busybox's applet, if any
  cp -L "$PKGROOT/$program" "$dest"
  copy_libraries_of "$PKGROOT/$program"
done
for name in dropbear dropbearkey sfdisk mke2fs zstd ipmitool; do
  [ -x "$ROOT/usr/sbin/$name" ] || [ -x "$ROOT/usr/bin/$name" ] || die "$name is missing from its package (looked for ${INITRD_PROGRAMS[*]})"
done
ln -s mke2fs "$ROOT/usr/sbin/mkfs.ext4"
loader="$(find_library ld-linux-x86-64.so.2)" || die "libc6 has no ld-linux-x86-64.so.2"
cp -L "$loader" "$ROOT/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"
ln -s /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$ROOT/lib64/ld-linux-x86-64.so.2"

# Kernel modules: each requested module after its dependencies (from the modules' own .modinfo).
KVER="$(basename "$(find "$WORK/kernel/lib/modules" -mindepth 1 -maxdepth 1 -type d | head -n1)")"
MODDIR="$WORK/kernel/lib/modules/$KVER"
declare -A module_path=()
while IFS= read -r ko; do
  name="$(basename "$ko" .ko)"
  module_path[${name//-/_}]="$ko"
done < <(find "$MODDIR/kernel" -name '*.ko')
declare -A module_done=()
module_order=()
add_module() {
  local name="${1//-/_}" dep deps
  [ -n "${module_done[$name]:-}" ] && return 0
  module_done[$name]=1
  if [ -z "${module_path[$name]:-}" ]; then
    grep -q "/${name}.ko\$" "$MODDIR/modules.builtin" 2>/dev/null && return 0
    grep -q "/${1}.ko\$" "$MODDIR/modules.builtin" 2>/dev/null && return 0
    die "kernel $KVER has no module $1"
  fi
  deps="$(readelf -p .modinfo "${module_path[$name]}" | sed -n 's/.*depends=\(.*\)$/\1/p' | tr ',' ' ')"
  for dep in $deps; do add_module "$dep"; done
  module_order+=("$name")
  module_order_group+=("$name")
}
mkdir -p "$ROOT/lib/modules/$KVER"
# Writes one load list: the modules of the group not already listed, dependencies first.
write_module_list() {
  local list="$1" name rel
  shift
  module_order_group=()
  for m in "$@"; do add_module "$m"; done
  : >"$ROOT/etc/crowbar/$list"
  for name in "${module_order_group[@]}"; do
    rel="${module_path[$name]#"$MODDIR"/}"
    mkdir -p "$ROOT/lib/modules/$KVER/$(dirname "$rel")"
    cp "${module_path[$name]}" "$ROOT/lib/modules/$KVER/$rel"
    printf '/lib/modules/%s/%s\n' "$KVER" "$rel" >>"$ROOT/etc/crowbar/$list"
  done
}
write_module_list modules.early "${MODULES_EARLY[@]}"
write_module_list modules.late "${MODULES_LATE[@]}"
write_module_list modules.bmc "${MODULES_BMC[@]}"
cp "$MODDIR/modules.builtin" "$MODDIR/modules.order" "$ROOT/lib/modules/$KVER/"

# Users, shells and the scripts.
printf 'root:x:0:0:root:/root:/bin/sh\nsshd:x:74:74:sshd:/var/empty:/bin/false\n' >"$ROOT/etc/passwd"
printf 'root:x:0:\n' >"$ROOT/etc/group"
printf '/bin/sh\n/bin/ash\n' >"$ROOT/etc/shells"
printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$ROOT/etc/nsswitch.conf"
printf '127.0.0.1 localhost\n' >"$ROOT/etc/hosts"
install -m 0755 "$HERE/discovery/init.sh" "$ROOT/init"
install -m 0755 "$HERE/discovery/udhcpc.sh" "$ROOT/usr/share/udhcpc/default.script"
{
  printf 'kernel=%s\n' "$KVER"
  printf 'built_from=%s\n' "$inputs_hash"
} >"$ROOT/etc/crowbar/image"

# --- Pack and install ---------------------------------------------------------------------------
STAGE="$WORK/out"
mkdir -p "$STAGE/discovery"
# Same inputs, same bytes: every file gets the kernel's timestamp (or SOURCE_DATE_EPOCH).
epoch="${SOURCE_DATE_EPOCH:-$(stat -c %Y "$WORK/kernel/boot/vmlinuz-$KVER")}"
find "$ROOT" -exec touch -h -d "@$epoch" {} +
(cd "$ROOT" && find . -mindepth 1 -print0 | LC_ALL=C sort -z | cpio --null --create --format=newc --owner=0:0 --reproducible --quiet) |
  zstd -q -19 -T0 >"$STAGE/discovery/initrd.img"
cp "$WORK/kernel/boot/vmlinuz-$KVER" "$STAGE/discovery/vmlinuz"
for f in usr/lib/ipxe/undionly.kpxe usr/lib/ipxe/snponly.efi boot/ipxe.efi; do
  [ -f "$WORK/ipxe/$f" ] || die "the ipxe package has no $f"
  cp "$WORK/ipxe/$f" "$STAGE/"
done

# The UEFI local-boot loader: Debian's GRUB, every module built in (it loads nothing over the
# network), our config as (memdisk)/grub.cfg read by normal mode. The embedded -c config only
# points the prefix there: it runs in rescue mode (no `if`, no comments), and -p alone gets
# /boot/grub appended. grub-mkimage runs from the package on this machine's libraries.
grub_mkimage="$WORK/grub/usr/bin/grub-mkimage"
[ -x "$grub_mkimage" ] || die "grub-common has no usr/bin/grub-mkimage"
mkdir -p "$WORK/grub-memdisk"
cp "$HERE/discovery/grub-local.cfg" "$WORK/grub-memdisk/grub.cfg"
printf 'set prefix=(memdisk)/\n' >"$WORK/grub-embedded.cfg"
tar --format=ustar --owner=0 --group=0 --numeric-owner --mtime="@$epoch" -cf "$WORK/grub-memdisk.tar" -C "$WORK/grub-memdisk" grub.cfg
grub_out="$("$grub_mkimage" -d "$WORK/grub/usr/lib/grub/x86_64-efi" -O x86_64-efi -p '(memdisk)/' \
  -c "$WORK/grub-embedded.cfg" -m "$WORK/grub-memdisk.tar" -o "$STAGE/grub-local.efi" "${GRUB_MODULES[@]}" 2>&1)" ||
  die "grub-mkimage failed (it needs liblzma5 and libdevmapper1.02.1: apt-get install liblzma5 libdevmapper1.02.1): $grub_out"

versions="$(printf '%s\n' "$uris" | awk '{print $2}' | sed 's/\.deb$//' | sort)"
{
  printf '{\n  "inputs_sha256": "%s",\n  "kernel": "%s",\n' "$inputs_hash" "$KVER"
  printf '  "modules": [%s],\n' "$(printf '"%s",' "${module_order[@]}" | sed 's/,$//')"
  printf '  "packages": [%s],\n' "$(printf '%s\n' "$versions" | sed 's/.*/"&"/' | paste -sd, -)"
  printf '  "files": {'
  sep=''
  while IFS= read -r f; do
    printf '%s\n    "%s": {"bytes": %s, "sha256": "%s"}' "$sep" "$f" "$(stat -c %s "$STAGE/$f")" "$(sha256sum "$STAGE/$f" | cut -d' ' -f1)"
    sep=','
  done < <(cd "$STAGE" && find . -type f | sed 's|^\./||' | sort)
  printf '\n  }\n}\n'
} >"$WORK/manifest.json"
mv "$WORK/manifest.json" "$STAGE/discovery/manifest.json"

install_stage discovery "$STAGE" "$inputs_hash"

initrd_bytes=$(stat -c %s "$OUT/discovery/initrd.img")
unpacked_kib=$(du -sk "$ROOT" | cut -f1)
say "discovery: built in $(($(date +%s) - started)) s into $OUT: kernel $KVER, initrd.img $((initrd_bytes / 1024)) KiB ($((unpacked_kib)) KiB unpacked), ${#module_order[@]} modules"
