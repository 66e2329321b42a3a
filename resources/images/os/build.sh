# shellcheck shell=bash
# Sourced by build-images.sh (in a subshell, with its helpers): the OS image, a Debian 12 root
# filesystem made with mmdebstrap from the apt sources this machine uses, as a zstd tarball that
# the discovery image streams onto a node's disk (os/debian-12-amd64.tar.zst).

require_tools mmdebstrap=mmdebstrap zstd=zstd apt-config=apt

SUITE=bookworm
IMAGE=os/debian-12-amd64.tar.zst
# minbase plus what an installed node needs: sshd for the jigs, a kernel, GRUB for BIOS and UEFI
# (installed to the disk by the installer for the firmware it booted under), DHCP networking, and
# wget for the boot-time report to the node-facing API (POST /api/node/{id}/alive), and ipmitool
# for bmc-configure, which runs again on the installed OS once the node is back.
INCLUDE=(openssh-server systemd-sysv linux-image-amd64 grub-pc-bin grub-efi-amd64-bin grub2-common ifupdown isc-dhcp-client wget ipmitool)

ensure_apt_lists
# This machine's Debian sources for the suite (deb822 .sources or one-line .list files).
sources=()
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
  [ -f "$f" ] && grep -qE "^[^#]*\b${SUITE}\b" "$f" && sources+=("$f")
done
((${#sources[@]} > 0)) || die "no apt source in /etc/apt/sources.list{,.d} names ${SUITE}: add a Debian 12 mirror"
# apt settings the host relies on to reach its mirror (a proxy, a snapshot's old Valid-Until).
aptopts=()
while IFS= read -r line; do aptopts+=(--aptopt="$line"); done < <(
  apt-config dump | grep -E '^Acquire::(Check-Valid-Until|Check-Date|https?::Proxy|Retries) ' || true
)

# The cache key: the versions of the packages the image can contain (the includes' dependency
# closure and apt, which minbase brings with the Essential set).
mapfile -t closure < <(
  apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks --no-replaces --no-enhances \
    "${INCLUDE[@]}" apt 2>/dev/null | grep -E '^[a-z0-9][a-z0-9.+-]*$' | LC_ALL=C sort -u
)
uris="$(apt-get download --print-uris "${closure[@]}" 2>&1)" || die "apt-get cannot resolve the OS image's packages (try apt-get update): ${uris}"
inputs_hash="$(inputs_hash_of os "$uris$(printf '\n%s' "${sources[@]}")")"
if up_to_date os "$inputs_hash" "$IMAGE"; then
  return 0
fi

started=$(date +%s)
WORK="$(mktemp -d "$OUT/.build-os.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
STAGE="$WORK/out"
mkdir -p "$STAGE/os"
say "os: mmdebstrap ${SUITE} (minbase + ${INCLUDE[*]}) from ${sources[*]}"
# Docs, man pages and translations are left out (copyright files stay): a third smaller, same system.
mmdebstrap --quiet --variant=minbase --include="$(
  IFS=,
  echo "${INCLUDE[*]}"
)" \
  "${aptopts[@]}" \
  --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias' \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --customize-hook="\"$HERE/os/customize.sh\" \"\$1\" \"$inputs_hash\"" \
  "$SUITE" "$WORK/rootfs.tar" "${sources[@]}" >&2 || die "mmdebstrap failed (its output is above)"
unpacked_bytes=$(stat -c %s "$WORK/rootfs.tar")
zstd -q -T0 -9 --rm "$WORK/rootfs.tar" -o "$STAGE/$IMAGE"
{
  printf '{\n  "inputs_sha256": "%s",\n  "suite": "%s",\n  "include": [%s],\n' "$inputs_hash" "$SUITE" "$(printf '"%s",' "${INCLUDE[@]}" | sed 's/,$//')"
  printf '  "unpacked_bytes": %s,\n' "$unpacked_bytes"
  printf '  "files": {\n    "%s": {"bytes": %s, "sha256": "%s"}\n  }\n}\n' "$IMAGE" "$(stat -c %s "$STAGE/$IMAGE")" "$(sha256sum "$STAGE/$IMAGE" | cut -d' ' -f1)"
} >"$WORK/manifest.json"
mv "$WORK/manifest.json" "$STAGE/os/manifest.json"
install_stage os "$STAGE" "$inputs_hash"
say "os: built in $(($(date +%s) - started)) s into $OUT: $IMAGE $(($(stat -c %s "$OUT/$IMAGE") / 1048576)) MiB ($((unpacked_bytes / 1048576)) MiB unpacked)"
