#!/bin/sh
# shellcheck shell=sh
# udhcpc's event script in the discovery image: configure the interface from the lease and write
# what init needs (address, server, boot file) to /run/dhcp.env.
# udhcpc passes the lease in environment variables (ip, subnet, router, dns, ...).
# shellcheck disable=SC2154
case "$1" in
  deconfig)
    ip -4 addr flush dev "$interface"
    ip link set "$interface" up
    ;;
  bound | renew)
    prefix="${mask:-24}"
    ip -4 addr flush dev "$interface"
    ip addr add "$ip/$prefix" ${broadcast:+broadcast "$broadcast"} dev "$interface"
    if [ -n "$router" ]; then
      ip route del default 2>/dev/null
      for r in $router; do
        ip route add default via "$r" dev "$interface" && break
      done
    fi
    : >/etc/resolv.conf
    [ -n "$domain" ] && echo "search $domain" >>/etc/resolv.conf
    for d in $dns; do echo "nameserver $d" >>/etc/resolv.conf; done
    {
      echo "DHCP_IP='$ip'"
      echo "DHCP_PREFIX='$prefix'"
      echo "DHCP_ROUTER='$router'"
      echo "DHCP_SERVER='${serverid:-$siaddr}'"
      echo "DHCP_DOMAIN='$domain'"
      echo "DHCP_BOOTFILE='$bootfile'"
      echo "DHCP_BOOT_FILE='$boot_file'"
    } >/run/dhcp.env
    ;;
esac
exit 0
