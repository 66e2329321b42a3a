// The script of `bmc-configure`, run by the script jig over SSH on the discovery image: in band
// (/dev/ipmi0), it gives the BMC its address on the bmc network (the network barclamp's allocation,
// in the run's attributes) and a user with a password the framework generated (on stdin, under
// crowbar_secrets: never in the attributes, the wall or the log). Idempotent: what is already set
// is left as it is.

/**
 * POSIX sh for busybox ash. Input: the merged attributes as one line of JSON on stdin; the fields
 * it reads are flat and prefixed (`bmc_*`). Output: the wall, {"bmc":{"configured":true,...}}.
 * CROWBAR_IPMITOOL (tests only) replaces `ipmitool` (e.g. with `ipmitool -I lanplus ... -E`) and
 * skips the /dev/ipmi0 check.
 */
export const BMC_CONFIGURE_SCRIPT = String.raw`#!/bin/sh
# bmc-configure (Crowbar Desktop): the BMC's address and the framework's user, in band.
set -e
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
attrs="$(cat)"
log() { echo "bmc-configure: $*" >&2; }
fail() { log "FAILED: $*"; exit 1; }
json_string() { printf '%s' "$attrs" | sed -n "s/.*\"$1\":\"\([^\"\\\\]*\)\".*/\1/p"; }
json_number() { printf '%s' "$attrs" | sed -n "s/.*\"$1\":\([0-9][0-9]*\).*/\1/p"; }

ipmitool_cmd=ipmitool
[ -z "$CROWBAR_IPMITOOL" ] || ipmitool_cmd="$CROWBAR_IPMITOOL"
if [ -z "$CROWBAR_IPMITOOL" ]; then
  command -v ipmitool >/dev/null 2>&1 || fail "ipmitool is not on this node (the discovery image carries it)"
  for m in ipmi_msghandler ipmi_devintf ipmi_si; do modprobe "$m" 2>/dev/null || true; done
  n=0
  while [ ! -c /dev/ipmi0 ] && [ "$n" -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
  [ -c /dev/ipmi0 ] || fail "no /dev/ipmi0: this node has no BMC its OS can reach (no KCS/SMIC/BT interface found by ipmi_si)"
fi
# Never prints the command's arguments: one of them may be the password.
ipmi() {
  what="$1"
  shift
  out="$(timeout 30 $ipmitool_cmd "$@" 2>&1)" || fail "ipmitool could not $what: $(printf '%s' "$out" | head -c 200)"
}

channel="$(json_number bmc_channel)"
uid="$(json_number bmc_user_id)"
address="$(json_string bmc_address)"
netmask="$(json_string bmc_netmask)"
router="$(json_string bmc_router)"
user="$(json_string bmc_username)"
password="$(json_string bmc_password)"
[ -n "$channel" ] || channel=1
[ -n "$uid" ] || uid=3
[ -n "$address" ] || fail "no bmc_address: bmc-configure takes the BMC's address from a network of category bmc"
[ -n "$user" ] && [ -n "$password" ] || fail "no user and password were handed to this run (crowbar_secrets)"

lan="$(timeout 30 $ipmitool_cmd lan print "$channel" 2>/dev/null || true)"
current="$(printf '%s\n' "$lan" | sed -n 's/^IP Address *: *\([0-9.]*\) *$/\1/p' | head -n1)"
source="$(printf '%s\n' "$lan" | sed -n 's/^IP Address Source *: *\(.*\)$/\1/p' | head -n1)"
if [ "$current" = "$address" ] && [ "$source" = "Static Address" ]; then
  log "the BMC already has $address on channel $channel"
else
  [ -n "$current" ] || current=none
  log "setting the BMC's address on channel $channel: $address/$netmask (was $current)"
  ipmi "set the address source" lan set "$channel" ipsrc static
  ipmi "set the address" lan set "$channel" ipaddr "$address"
  [ -z "$netmask" ] || ipmi "set the netmask" lan set "$channel" netmask "$netmask"
  [ -z "$router" ] || ipmi "set the gateway" lan set "$channel" defgw ipaddr "$router"
fi
log "user $uid ($user) on channel $channel: name, password, administrator, enabled"
ipmi "name user $uid" user set name "$uid" "$user"
ipmi "set user $uid's password" user set password "$uid" "$password"
ipmi "give user $uid administrator rights" channel setaccess "$channel" "$uid" callin=on ipmi=on link=on privilege=4
ipmi "enable user $uid" user enable "$uid"
mac="$(printf '%s\n' "$lan" | sed -n 's/^MAC Address *: *\([0-9A-Fa-f:]*\) *$/\1/p' | head -n1 | tr 'A-F' 'a-f')"
printf '{"bmc":{"configured":true,"address":"%s","username":"%s","user_id":%s,"channel":%s,"mac":"%s"}}\n' "$address" "$user" "$uid" "$channel" "$mac"
`
