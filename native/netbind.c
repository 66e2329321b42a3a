// netbind: what Node's sockets cannot do for the boot services (Linux): SO_BINDTODEVICE, so the
// DHCP server answers only on the interface the operator chose; and IPv6 router advertisements
// (raw ICMPv6), so iPXE does not wait ~15 s for one. N-API: one build serves Node and Electron.
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <unistd.h>
#include <node_api.h>

static napi_value bind_to_device(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 2) {
    napi_throw_type_error(env, NULL, "bindToDevice(fd, ifname) takes two arguments");
    return NULL;
  }
  int32_t fd;
  if (napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) {
    napi_throw_type_error(env, NULL, "fd must be a non-negative integer");
    return NULL;
  }
  char name[IFNAMSIZ + 1];
  size_t len = 0;
  if (napi_get_value_string_utf8(env, argv[1], name, sizeof(name), &len) != napi_ok || len == 0 || len >= IFNAMSIZ) {
    napi_throw_type_error(env, NULL, "ifname must be a non-empty interface name shorter than 16 bytes");
    return NULL;
  }
#ifdef SO_BINDTODEVICE
  if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, name, (socklen_t)len) != 0) {
    char message[160];
    int err = errno;
    snprintf(message, sizeof(message), "SO_BINDTODEVICE %s: %s", name, strerror(err));
    napi_throw_error(env, err == EPERM ? "EPERM" : (err == ENODEV ? "ENODEV" : "ESOCKOPT"), message);
    return NULL;
  }
  return NULL;
#else
  napi_throw_error(env, "ENOTSUP", "binding a socket to one interface is supported on Linux only");
  return NULL;
#endif
}

static void throw_errno(napi_env env, const char *what, int err) {
  char message[200];
  snprintf(message, sizeof(message), "%s: %s", what, strerror(err));
  napi_throw_error(env, err == EPERM || err == EACCES ? "EPERM" : (err == ENODEV ? "ENODEV" : "ESOCKET"), message);
}

// sendRouterAdvertisement(ifname, prefix: Buffer(16), prefixLength, validSeconds, preferredSeconds):
// one unsolicited RA to ff02::1 on the interface, router lifetime 0 (we are not a default router),
// with one prefix option (on-link, autonomous) so hosts configure an address. The kernel fills in
// the ICMPv6 checksum and the link-local source address.
static napi_value send_router_advertisement(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 5) {
    napi_throw_type_error(env, NULL, "sendRouterAdvertisement(ifname, prefix, prefixLength, valid, preferred) takes five arguments");
    return NULL;
  }
  char name[IFNAMSIZ + 1];
  size_t len = 0;
  if (napi_get_value_string_utf8(env, argv[0], name, sizeof(name), &len) != napi_ok || len == 0 || len >= IFNAMSIZ) {
    napi_throw_type_error(env, NULL, "ifname must be a non-empty interface name shorter than 16 bytes");
    return NULL;
  }
  void *prefix = NULL;
  size_t prefix_len = 0;
  bool is_buffer = false;
  if (napi_is_buffer(env, argv[1], &is_buffer) != napi_ok || !is_buffer ||
      napi_get_buffer_info(env, argv[1], &prefix, &prefix_len) != napi_ok || prefix_len != 16) {
    napi_throw_type_error(env, NULL, "prefix must be a 16-byte Buffer");
    return NULL;
  }
  uint32_t plen, valid, preferred;
  if (napi_get_value_uint32(env, argv[2], &plen) != napi_ok || plen > 128 ||
      napi_get_value_uint32(env, argv[3], &valid) != napi_ok || napi_get_value_uint32(env, argv[4], &preferred) != napi_ok) {
    napi_throw_type_error(env, NULL, "prefixLength must be 0-128 and lifetimes non-negative integers");
    return NULL;
  }
  unsigned int ifindex = if_nametoindex(name);
  if (ifindex == 0) {
    throw_errno(env, name, ENODEV);
    return NULL;
  }
  int fd = socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6);
  if (fd < 0) {
    throw_errno(env, "raw ICMPv6 socket", errno);
    return NULL;
  }
  int hops = 255;
  if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, name, (socklen_t)len) != 0 ||
      setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof(hops)) != 0 ||
      setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &ifindex, sizeof(ifindex)) != 0) {
    int err = errno;
    close(fd);
    throw_errno(env, "configuring the ICMPv6 socket", err);
    return NULL;
  }
  unsigned char packet[48];
  memset(packet, 0, sizeof(packet));
  packet[0] = 134;  // Router Advertisement
  packet[4] = 64;   // current hop limit; flags 0; router lifetime 0; reachable 0; retrans 0
  unsigned char *opt = packet + 16;
  opt[0] = 3;       // Prefix Information
  opt[1] = 4;       // length in units of 8 bytes
  opt[2] = (unsigned char)plen;
  opt[3] = 0xC0;    // on-link, autonomous address configuration
  opt[4] = (unsigned char)(valid >> 24); opt[5] = (unsigned char)(valid >> 16); opt[6] = (unsigned char)(valid >> 8); opt[7] = (unsigned char)valid;
  opt[8] = (unsigned char)(preferred >> 24); opt[9] = (unsigned char)(preferred >> 16); opt[10] = (unsigned char)(preferred >> 8); opt[11] = (unsigned char)preferred;
  memcpy(opt + 16, prefix, 16);
  struct sockaddr_in6 dst;
  memset(&dst, 0, sizeof(dst));
  dst.sin6_family = AF_INET6;
  dst.sin6_addr.s6_addr[0] = 0xff;
  dst.sin6_addr.s6_addr[1] = 0x02;
  dst.sin6_addr.s6_addr[15] = 0x01;
  dst.sin6_scope_id = ifindex;
  ssize_t sent = sendto(fd, packet, sizeof(packet), 0, (struct sockaddr *)&dst, sizeof(dst));
  int err = errno;
  close(fd);
  if (sent != (ssize_t)sizeof(packet)) {
    throw_errno(env, "sending the router advertisement", err);
    return NULL;
  }
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  if (napi_create_function(env, "bindToDevice", NAPI_AUTO_LENGTH, bind_to_device, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "bindToDevice", fn) != napi_ok) return NULL;
  if (napi_create_function(env, "sendRouterAdvertisement", NAPI_AUTO_LENGTH, send_router_advertisement, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "sendRouterAdvertisement", fn) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
