#!/bin/sh
# shellcheck shell=sh
# /init of the discovery image: bring the boot NIC up by DHCP, register the machine with Crowbar's
# node-facing API, install the admin key, run dropbear, report alive. Progress goes to every console.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
umask 022

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=620 devpts /dev/pts
mount -t tmpfs -o mode=755 tmpfs /run

# Everything this script prints goes to each console the kernel has (serial and screen) and a log.
mkfifo /run/console.fifo
consoles=""
while read -r c _; do
  [ -c "/dev/$c" ] && consoles="$consoles /dev/$c"
done </proc/consoles
[ -n "$consoles" ] || consoles=/dev/console
# shellcheck disable=SC2086 # one argument per console
tee -a /run/discovery.log $consoles </run/console.fifo >/dev/null &
exec >/run/console.fifo 2>&1

log() { echo "crowbar-discovery [$(cut -d' ' -f1 /proc/uptime)s]: $*"; }
fail_forever() {
  log "FAILED: $*"
  log "staying up for inspection over the console"
  while :; do sleep 3600; done
}

log "starting ($(tr '\n' ' ' </etc/crowbar/image))"

API=""
BOOT_MAC=""
read -r cmdline </proc/cmdline
for word in $cmdline; do
  case "$word" in
    crowbar.api=*) API="${word#crowbar.api=}" ;;
    crowbar.mac=*) BOOT_MAC="$(echo "${word#crowbar.mac=}" | tr 'A-F-' 'a-f:')" ;;
  esac
done

# Loads the modules of one list (built in dependency order); a driver with no device loads anyway.
load_modules() {
  loaded=0
  while read -r ko; do
    if insmod "$ko" 2>/dev/null; then loaded=$((loaded + 1)); fi
  done <"/etc/crowbar/$1"
  log "loaded $loaded kernel modules ($1)"
}
load_modules modules.early

ip link set lo up
# The boot NIC: the one iPXE booted from (crowbar.mac), else the first to see a carrier.
ifaces=""
for path in /sys/class/net/*; do
  name="${path##*/}"
  [ "$name" = lo ] && continue
  [ "$(cat "$path/type" 2>/dev/null)" = 1 ] || continue
  ifaces="$ifaces $name"
  ip link set "$name" up
done
[ -n "$ifaces" ] || fail_forever "no Ethernet interface (is the NIC's driver in /etc/crowbar/modules?)"
IFACE=""
tries=0
while [ -z "$IFACE" ] && [ "$tries" -lt 100 ]; do
  for name in $ifaces; do
    [ "$(cat "/sys/class/net/$name/carrier" 2>/dev/null)" = 1 ] || continue
    if [ -n "$BOOT_MAC" ] && [ "$(cat "/sys/class/net/$name/address")" = "$BOOT_MAC" ]; then
      IFACE="$name"
      break
    fi
    [ -z "$BOOT_MAC" ] && IFACE="$name" && break
  done
  # After 5 s, any interface with a carrier will do (the boot MAC may sit on a bond or be absent).
  if [ -z "$IFACE" ] && [ "$tries" -ge 50 ]; then
    for name in $ifaces; do
      [ "$(cat "/sys/class/net/$name/carrier" 2>/dev/null)" = 1 ] && IFACE="$name" && break
    done
  fi
  [ -n "$IFACE" ] || { sleep 0.1; tries=$((tries + 1)); }
done
[ -n "$IFACE" ] || fail_forever "no link on any of:$ifaces"
MAC="$(cat "/sys/class/net/$IFACE/address")"
log "link up on $IFACE ($MAC); asking for an address by DHCP"

# udhcpc configures the interface, writes /run/dhcp.env, and stays in the background to renew.
if ! udhcpc -i "$IFACE" -n -t 10 -T 2 -A 2 -O bootfile -s /usr/share/udhcpc/default.script -p /run/udhcpc.pid; then
  fail_forever "no DHCP answer on $IFACE"
fi
# shellcheck disable=SC1091 # written by the udhcpc script at run time
. /run/dhcp.env
log "address $DHCP_IP on $IFACE from server ${DHCP_SERVER:-?}"

# Where the API is: the kernel line, else the DHCP boot file's http://host:port, else the server.
if [ -z "$API" ]; then
  for candidate in "$DHCP_BOOTFILE" "$DHCP_BOOT_FILE"; do
    case "$candidate" in
      http://*) API="$(echo "$candidate" | sed 's|^\(http://[^/]*\).*|\1|')" && break ;;
    esac
  done
fi
[ -n "$API" ] || API="http://${DHCP_SERVER}:8702"
log "node-facing API at $API"

# One request, bounded: busybox 1.35's `wget -T` crashes, so `timeout` bounds it instead.
# Once registered, every call carries the node's secret (the node-facing API lets it touch only its own record).
http_post() {
  if [ -s /run/crowbar-node-secret ]; then
    timeout 20 wget -q -O "$3" --header 'Content-Type: application/json' --header "Authorization: Bearer $(cat /run/crowbar-node-secret)" --post-data "$2" "$API$1"
  else
    timeout 20 wget -q -O "$3" --header 'Content-Type: application/json' --post-data "$2" "$API$1"
  fi
}
http_get() { timeout 20 wget -q -O "$2" "$API$1"; }
with_retries() {
  n=0
  delay=1
  until "$@"; do
    n=$((n + 1))
    [ "$n" -ge 30 ] && return 1
    log "request failed ($*); retrying in ${delay}s"
    sleep "$delay"
    [ "$delay" -lt 8 ] && delay=$((delay * 2))
  done
}

# The machine's BMC as `ipmitool lan print` shows it (stdin), as the registration's "bmc" object:
# MAC (lower case), IP address (left out when 0.0.0.0 or unreadable) and its source, channel $1.
# Only well-formed values get in: the text comes from firmware.
bmc_json_of_lan_print() {
  lan=$(cat)
  bmc_mac=$(printf '%s\n' "$lan" | sed -n 's/^MAC Address *: *\([0-9A-Fa-f:]*\) *$/\1/p' | head -n1 | tr 'A-F' 'a-f')
  bmc_ip=$(printf '%s\n' "$lan" | sed -n 's/^IP Address *: *\([0-9.]*\) *$/\1/p' | head -n1)
  bmc_src=$(printf '%s\n' "$lan" | sed -n 's/^IP Address Source *: *\(.*\)$/\1/p' | head -n1 | tr -cd 'A-Za-z0-9 ' | cut -c1-32 | sed 's/ *$//')
  fields="\"channel\":$1"
  echo "$bmc_mac" | grep -qE '^([0-9a-f]{2}:){5}[0-9a-f]{2}$' && fields="\"mac\":\"$bmc_mac\",$fields"
  if echo "$bmc_ip" | grep -qE '^[0-9]{1,3}(\.[0-9]{1,3}){3}$' && [ "$bmc_ip" != 0.0.0.0 ]; then
    fields="$fields,\"address\":\"$bmc_ip\""
  fi
  [ -n "$bmc_src" ] && fields="$fields,\"ip_source\":\"$bmc_src\""
  printf '{%s}' "$fields"
}

# The BMC, read in band over /dev/ipmi0. Bounded, and never in the way of registering: no BMC, or
# one that does not answer, only leaves the "bmc" field out (or empty).
BMC_CHANNEL=1
bmc_field=""
load_modules modules.bmc
# ipmi_si stays loaded only when it found a system interface: only then is /dev/ipmi0 worth a wait.
n=0
while [ -d /sys/module/ipmi_si ] && [ ! -c /dev/ipmi0 ] && [ "$n" -lt 50 ]; do
  sleep 0.1
  n=$((n + 1))
done
if [ ! -c /dev/ipmi0 ]; then
  log "no BMC seen (no /dev/ipmi0)"
elif timeout 15 ipmitool lan print "$BMC_CHANNEL" >/run/bmc-lan.txt 2>/run/bmc-lan.err; then
  bmc_field=",\"bmc\":$(bmc_json_of_lan_print "$BMC_CHANNEL" </run/bmc-lan.txt)"
  log "BMC on channel $BMC_CHANNEL:${bmc_field#,\"bmc\":}"
else
  bmc_field=',"bmc":{}'
  log "BMC at /dev/ipmi0 did not answer lan print $BMC_CHANNEL: $(head -c 200 /run/bmc-lan.err)"
fi

# One NIC as the registration's "nics" entry: name, MAC, link speed (Mb/s, null when unknown),
# PCI path (the bus order for conduits; null for a device without one) and carrier.
nic_json() {
  dir="/sys/class/net/$1"
  mac=$(cat "$dir/address" 2>/dev/null | tr 'A-F' 'a-f')
  echo "$mac" | grep -qE '^([0-9a-f]{2}:){5}[0-9a-f]{2}$' || return 0
  speed=$(cat "$dir/speed" 2>/dev/null)
  echo "$speed" | grep -qE '^[1-9][0-9]{0,7}$' || speed=null
  bus=$(readlink -f "$dir/device" 2>/dev/null | tr '/' '\n' | grep -E '^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$' | tail -n1)
  [ -n "$bus" ] && bus="\"$bus\"" || bus=null
  case "$(cat "$dir/carrier" 2>/dev/null)" in 1) link=true ;; 0) link=false ;; *) link=null ;; esac
  printf '{"name":"%s","mac":"%s","speed_mbps":%s,"bus_path":%s,"link":%s}' "$1" "$mac" "$speed" "$bus" "$link"
}

# Inventory: the boot MAC first (the node is named after it), then the others.
macs="\"$MAC\""
for name in $ifaces; do
  [ "$name" = "$IFACE" ] && continue
  macs="$macs,\"$(cat "/sys/class/net/$name/address")\""
done
nics=""
for name in $ifaces; do
  one=$(nic_json "$name")
  [ -n "$one" ] && nics="$nics${nics:+,}$one"
done
model=$(cat /sys/class/dmi/id/product_name 2>/dev/null | tr -cd 'A-Za-z0-9 ._()-' | cut -c1-128)
model_field=""
[ -n "$model" ] && model_field=",\"model\":\"$model\""
cpus=$(grep -c '^processor' /proc/cpuinfo)
memory_mb=$(($(sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo) / 1024))
disks=""
for path in /sys/block/*; do
  name="${path##*/}"
  case "$name" in loop* | ram* | sr* | fd* | zram*) continue ;; esac
  size=$(($(cat "$path/size") * 512))
  # USB sticks and virtual media say 1: never the default install disk.
  removable=false
  if [ "$(cat "$path/removable" 2>/dev/null)" = 1 ]; then removable=true; fi
  disks="$disks${disks:+,}{\"name\":\"$name\",\"size_bytes\":$size,\"removable\":$removable}"
done
registration="{\"macs\":[$macs],\"cpus\":$cpus,\"memory_mb\":$memory_mb,\"disks\":[$disks],\"nics\":[$nics]$model_field,\"address\":\"$DHCP_IP\"$bmc_field}"

log "POST $API/api/node/register $registration"
with_retries http_post /api/node/register "$registration" /run/registered.json || fail_forever "could not register with $API"
NODE_ID="$(sed -n 's/.*"node_id":\([0-9]*\).*/\1/p' /run/registered.json)"
NODE_NAME="$(sed -n 's/.*"name":"\([^"]*\)".*/\1/p' /run/registered.json)"
[ -n "$NODE_ID" ] || fail_forever "the API's answer has no node_id: $(cat /run/registered.json)"
# The node's secret, given once at registration: kept in RAM (0600) for the later calls and, by the
# OS install, on the installed system. Never logged.
NODE_SECRET="$(sed -n 's/.*"secret":"\([0-9a-f]*\)".*/\1/p' /run/registered.json)"
[ -n "$NODE_SECRET" ] || fail_forever "the API gave no node secret (node $NODE_ID already had one: the operator resets it, POST /api/v2/nodes/$NODE_ID/reset-secret, or deletes the node)"
(umask 077 && printf '%s\n' "$NODE_SECRET" >/run/crowbar-node-secret)
sed -i 's/"secret":"[0-9a-f]*"/"secret":"(kept in \/run\/crowbar-node-secret)"/' /run/registered.json
log "registered as node $NODE_ID ($NODE_NAME)"
[ -n "$NODE_NAME" ] && hostname "${NODE_NAME%%.*}"

with_retries http_get /api/node/admin-key /run/admin-key.pub || fail_forever "could not fetch the admin key"
grep -q '^ssh-' /run/admin-key.pub || fail_forever "the admin key is not an SSH public key: $(head -c 200 /run/admin-key.pub)"
cp /run/admin-key.pub /root/.ssh/authorized_keys && chmod 0600 /root/.ssh/authorized_keys
log "admin key installed: $(cut -d' ' -f1,3 /root/.ssh/authorized_keys)"

# A host key per boot (the initramfs is read fresh each time), ed25519 only: fast to make under TCG.
HOSTKEY=/etc/dropbear/dropbear_ed25519_host_key
[ -f "$HOSTKEY" ] || dropbearkey -t ed25519 -f "$HOSTKEY" >/dev/null 2>&1 || fail_forever "dropbearkey failed"
dropbear -r "$HOSTKEY" -p 22 -s -E -P /run/dropbear.pid || fail_forever "dropbear did not start"
log "dropbear listening on port 22 ($(dropbearkey -y -f "$HOSTKEY" | sed -n 's/^Fingerprint: //p'))"

with_retries http_post "/api/node/$NODE_ID/alive" '{"alive":true}' /run/alive.json || fail_forever "could not report alive"
log "reported alive; discovery done"
load_modules modules.late

# PID 1 stays; `wait` reaps whatever daemons leave behind.
while :; do
  sleep 3600 &
  wait
done
