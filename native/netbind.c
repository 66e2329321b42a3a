// netbind: what Node's sockets cannot do for the boot services (Linux): SO_BINDTODEVICE, so the
// DHCP server answers only on the interface the operator chose; and IPv6 router advertisements
// (raw ICMPv6), periodic and in answer to router solicitations, so iPXE does not wait for one.
// N-API: one build serves Node and Electron.
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/icmp6.h>
#include <stdio.h>
#include <unistd.h>
#include <node_api.h>
#include <uv.h>

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
  // What arrived between bind() and now may have come in on any interface: the socket was bound to
  // the port before it was bound to the device. Discard it (bounded), before the event loop reads
  // it, so nothing from another interface is ever answered. Returns how many were discarded.
  unsigned char scratch[2048];
  int32_t discarded = 0;
  while (discarded < 65536 && recv(fd, scratch, sizeof(scratch), MSG_DONTWAIT) >= 0) discarded++;
  napi_value result;
  if (napi_create_int32(env, discarded, &result) != napi_ok) return NULL;
  return result;
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

#define RA_BYTES 48

// A router advertisement: router lifetime 0 (we are not a default router), one prefix option
// (on-link, autonomous) so hosts configure an address. The kernel fills in the checksum.
static void build_router_advertisement(unsigned char *packet, const unsigned char *prefix, uint32_t plen, uint32_t valid, uint32_t preferred) {
  memset(packet, 0, RA_BYTES);
  packet[0] = ND_ROUTER_ADVERT;
  packet[4] = 64;   // current hop limit; flags 0; router lifetime 0; reachable 0; retrans 0
  unsigned char *opt = packet + 16;
  opt[0] = 3;       // Prefix Information
  opt[1] = 4;       // length in units of 8 bytes
  opt[2] = (unsigned char)plen;
  opt[3] = 0xC0;    // on-link, autonomous address configuration
  opt[4] = (unsigned char)(valid >> 24); opt[5] = (unsigned char)(valid >> 16); opt[6] = (unsigned char)(valid >> 8); opt[7] = (unsigned char)valid;
  opt[8] = (unsigned char)(preferred >> 24); opt[9] = (unsigned char)(preferred >> 16); opt[10] = (unsigned char)(preferred >> 8); opt[11] = (unsigned char)preferred;
  memcpy(opt + 16, prefix, 16);
}

static void all_nodes(struct sockaddr_in6 *dst, unsigned int ifindex) {
  memset(dst, 0, sizeof(*dst));
  dst->sin6_family = AF_INET6;
  dst->sin6_addr.s6_addr[0] = 0xff;
  dst->sin6_addr.s6_addr[1] = 0x02;
  dst->sin6_addr.s6_addr[15] = 0x01;
  dst->sin6_scope_id = ifindex;
}

// A raw ICMPv6 socket on one interface that sends with hop limit 255 (RFC 4861 requires it).
// Returns 0 or an errno.
static int open_icmp6_socket(const char *name, size_t len, unsigned int ifindex, int *out) {
  int fd = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMPV6);
  if (fd < 0) return errno;
  int hops = 255;
  if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, name, (socklen_t)len) != 0 ||
      setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof(hops)) != 0 ||
      setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &hops, sizeof(hops)) != 0 ||
      setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &ifindex, sizeof(ifindex)) != 0) {
    int err = errno;
    close(fd);
    return err;
  }
  *out = fd;
  return 0;
}

// The arguments both RA functions take: (ifname, prefix: Buffer(16), prefixLength, valid, preferred).
typedef struct {
  char name[IFNAMSIZ + 1];
  size_t len;
  unsigned char *prefix;
  uint32_t plen, valid, preferred;
  unsigned int ifindex;
} ra_call;

// Reads and checks a call's arguments; throws and returns false when one is wrong.
static bool read_ra_call(napi_env env, napi_callback_info info, const char *usage, ra_call *c) {
  size_t argc = 5;
  napi_value argv[5];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 5) {
    napi_throw_type_error(env, NULL, usage);
    return false;
  }
  if (napi_get_value_string_utf8(env, argv[0], c->name, sizeof(c->name), &c->len) != napi_ok || c->len == 0 || c->len >= IFNAMSIZ) {
    napi_throw_type_error(env, NULL, "ifname must be a non-empty interface name shorter than 16 bytes");
    return false;
  }
  void *data = NULL;
  size_t prefix_len = 0;
  bool is_buffer = false;
  if (napi_is_buffer(env, argv[1], &is_buffer) != napi_ok || !is_buffer ||
      napi_get_buffer_info(env, argv[1], &data, &prefix_len) != napi_ok || prefix_len != 16) {
    napi_throw_type_error(env, NULL, "prefix must be a 16-byte Buffer");
    return false;
  }
  if (napi_get_value_uint32(env, argv[2], &c->plen) != napi_ok || c->plen > 128 ||
      napi_get_value_uint32(env, argv[3], &c->valid) != napi_ok || napi_get_value_uint32(env, argv[4], &c->preferred) != napi_ok) {
    napi_throw_type_error(env, NULL, "prefixLength must be 0-128 and lifetimes non-negative integers");
    return false;
  }
  c->prefix = (unsigned char *)data;
  c->ifindex = if_nametoindex(c->name);
  if (c->ifindex == 0) {
    throw_errno(env, c->name, ENODEV);
    return false;
  }
  return true;
}

// sendRouterAdvertisement(ifname, prefix: Buffer(16), prefixLength, validSeconds, preferredSeconds):
// one unsolicited RA to ff02::1 on the interface.
static napi_value send_router_advertisement(napi_env env, napi_callback_info info) {
  ra_call c;
  if (!read_ra_call(env, info, "sendRouterAdvertisement(ifname, prefix, prefixLength, valid, preferred) takes five arguments", &c)) return NULL;
  int fd = -1;
  int err = open_icmp6_socket(c.name, c.len, c.ifindex, &fd);
  if (err != 0) {
    throw_errno(env, "opening the ICMPv6 socket", err);
    return NULL;
  }
  unsigned char packet[RA_BYTES];
  build_router_advertisement(packet, c.prefix, c.plen, c.valid, c.preferred);
  struct sockaddr_in6 dst;
  all_nodes(&dst, c.ifindex);
  ssize_t sent = sendto(fd, packet, sizeof(packet), 0, (struct sockaddr *)&dst, sizeof(dst));
  err = errno;
  close(fd);
  if (sent != (ssize_t)sizeof(packet)) {
    throw_errno(env, "sending the router advertisement", err);
    return NULL;
  }
  return NULL;
}

// --- Answering router solicitations ---------------------------------------------------------
// A host (iPXE, Linux) sends a solicitation when its link comes up and waits for the answer; with
// only periodic advertisements every 3 s it waits 1.5 s on average. The answer is unicast to the
// soliciting address (RFC 4861 6.2.6 allows it), so it never adds to the multicast rate.

typedef struct {
  uv_poll_t poll;
  int fd;
  unsigned int ifindex;
  unsigned char ra[RA_BYTES];
  double answered;
  /** uv_now() of the last multicast answer (to a solicitation from ::); 0: none yet. */
  uint64_t last_multicast_ms;
  bool closing;
  bool closed;
  bool finalized;
} rs_responder;

static const napi_type_tag RESPONDER_TAG = {0x63726f7762617221ULL, 0x72732d7265737030ULL};

static void rs_free_if_done(rs_responder *r) {
  if (r->closed && r->finalized) free(r);
}

static void rs_on_close(uv_handle_t *handle) {
  rs_responder *r = (rs_responder *)handle->data;
  close(r->fd);
  r->closed = true;
  rs_free_if_done(r);
}

static void rs_close(rs_responder *r) {
  if (r->closing) return;
  r->closing = true;
  uv_poll_stop(&r->poll);
  uv_close((uv_handle_t *)&r->poll, rs_on_close);
}

static void rs_on_readable(uv_poll_t *handle, int status, int events) {
  rs_responder *r = (rs_responder *)handle->data;
  if (status < 0 || !(events & UV_READABLE) || r->closing) return;
  // Bounded drain: at most 64 datagrams per wake-up, the rest on the next one.
  for (int i = 0; i < 64; i++) {
    unsigned char buf[1280];
    struct sockaddr_in6 src;
    unsigned char control[CMSG_SPACE(sizeof(int))];
    struct iovec iov = {buf, sizeof(buf)};
    struct msghdr msg;
    memset(&msg, 0, sizeof(msg));
    msg.msg_name = &src;
    msg.msg_namelen = sizeof(src);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    ssize_t n = recvmsg(r->fd, &msg, MSG_DONTWAIT);
    if (n < 0) return;
    if (n < 8 || buf[0] != ND_ROUTER_SOLICIT || buf[1] != 0 || msg.msg_namelen < sizeof(src)) continue;
    // RFC 4861 6.1.1: a valid solicitation arrives with hop limit 255 (it was not forwarded).
    int hops = -1;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_HOPLIMIT && c->cmsg_len >= CMSG_LEN(sizeof(int))) memcpy(&hops, CMSG_DATA(c), sizeof(int));
    }
    if (hops != 255) continue;
    struct sockaddr_in6 dst;
    if (IN6_IS_ADDR_UNSPECIFIED(&src.sin6_addr)) {
      // RFC 4861 6.2.6: multicast answers at most one per MIN_DELAY_BETWEEN_RAS (3 s); the
      // periodic advertisement reaches that host anyway.
      uint64_t now = uv_now(handle->loop);
      if (r->last_multicast_ms != 0 && now - r->last_multicast_ms < 3000) continue;
      r->last_multicast_ms = now;
      all_nodes(&dst, r->ifindex);
    } else {
      dst = src;
      dst.sin6_port = 0;
      if (IN6_IS_ADDR_LINKLOCAL(&dst.sin6_addr)) dst.sin6_scope_id = r->ifindex;
    }
    if (sendto(r->fd, r->ra, sizeof(r->ra), MSG_DONTWAIT, (struct sockaddr *)&dst, sizeof(dst)) == (ssize_t)sizeof(r->ra)) r->answered += 1;
  }
}

static void rs_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  rs_responder *r = (rs_responder *)data;
  r->finalized = true;
  rs_close(r);
  rs_free_if_done(r);
}

// startSolicitationResponder(ifname, prefix, prefixLength, valid, preferred) -> handle: answers
// each router solicitation on the interface with our advertisement until stopped.
static napi_value start_solicitation_responder(napi_env env, napi_callback_info info) {
  ra_call c;
  if (!read_ra_call(env, info, "startSolicitationResponder(ifname, prefix, prefixLength, valid, preferred) takes five arguments", &c)) return NULL;
  uv_loop_t *loop = NULL;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == NULL) {
    napi_throw_error(env, "ELOOP", "no event loop to watch the ICMPv6 socket on");
    return NULL;
  }
  int fd = -1;
  int err = open_icmp6_socket(c.name, c.len, c.ifindex, &fd);
  if (err == 0) {
    struct icmp6_filter filter;
    ICMP6_FILTER_SETBLOCKALL(&filter);
    ICMP6_FILTER_SETPASS(ND_ROUTER_SOLICIT, &filter);
    int on = 1;
    struct ipv6_mreq all_routers;
    memset(&all_routers, 0, sizeof(all_routers));
    all_routers.ipv6mr_multiaddr.s6_addr[0] = 0xff;
    all_routers.ipv6mr_multiaddr.s6_addr[1] = 0x02;
    all_routers.ipv6mr_multiaddr.s6_addr[15] = 0x02;
    all_routers.ipv6mr_interface = c.ifindex;
    if (setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filter, sizeof(filter)) != 0 ||
        setsockopt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &on, sizeof(on)) != 0 ||
        setsockopt(fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, &all_routers, sizeof(all_routers)) != 0) {
      err = errno;
      close(fd);
    }
  }
  if (err != 0) {
    throw_errno(env, "opening the ICMPv6 socket for router solicitations", err);
    return NULL;
  }
  rs_responder *r = (rs_responder *)calloc(1, sizeof(rs_responder));
  if (r == NULL) {
    close(fd);
    throw_errno(env, "startSolicitationResponder", ENOMEM);
    return NULL;
  }
  r->fd = fd;
  r->ifindex = c.ifindex;
  build_router_advertisement(r->ra, c.prefix, c.plen, c.valid, c.preferred);
  if (uv_poll_init(loop, &r->poll, fd) != 0) {
    close(fd);
    free(r);
    napi_throw_error(env, "EPOLL", "cannot watch the ICMPv6 socket");
    return NULL;
  }
  r->poll.data = r;
  if (uv_poll_start(&r->poll, UV_READABLE, rs_on_readable) != 0) {
    r->finalized = true;
    rs_close(r);
    napi_throw_error(env, "EPOLL", "cannot watch the ICMPv6 socket");
    return NULL;
  }
  // The handle must not keep the process alive by itself.
  uv_unref((uv_handle_t *)&r->poll);
  napi_value handle;
  if (napi_create_external(env, r, rs_finalize, NULL, &handle) != napi_ok) {
    r->finalized = true;
    rs_close(r);
    napi_throw_error(env, "ENOMEM", "cannot create the responder's handle");
    return NULL;
  }
  // Tagged, so a foreign external passed back to stop() is refused instead of taken for ours.
  if (napi_type_tag_object(env, handle, &RESPONDER_TAG) != napi_ok) {
    rs_close(r);
    napi_throw_error(env, "ETAG", "cannot tag the responder's handle");
    return NULL;
  }
  return handle;
}

static rs_responder *responder_of(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  void *data = NULL;
  napi_valuetype type;
  bool ours = false;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 1 || napi_typeof(env, argv[0], &type) != napi_ok ||
      type != napi_external || napi_check_object_type_tag(env, argv[0], &RESPONDER_TAG, &ours) != napi_ok || !ours ||
      napi_get_value_external(env, argv[0], &data) != napi_ok) {
    napi_throw_type_error(env, NULL, "expected the handle startSolicitationResponder returned");
    return NULL;
  }
  return (rs_responder *)data;
}

// stopSolicitationResponder(handle): idempotent.
static napi_value stop_solicitation_responder(napi_env env, napi_callback_info info) {
  rs_responder *r = responder_of(env, info);
  if (r != NULL) rs_close(r);
  return NULL;
}

// solicitationsAnswered(handle) -> number of advertisements sent in answer.
static napi_value solicitations_answered(napi_env env, napi_callback_info info) {
  rs_responder *r = responder_of(env, info);
  if (r == NULL) return NULL;
  napi_value count;
  napi_create_double(env, r->answered, &count);
  return count;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  if (napi_create_function(env, "bindToDevice", NAPI_AUTO_LENGTH, bind_to_device, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "bindToDevice", fn) != napi_ok) return NULL;
  if (napi_create_function(env, "sendRouterAdvertisement", NAPI_AUTO_LENGTH, send_router_advertisement, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "sendRouterAdvertisement", fn) != napi_ok) return NULL;
  if (napi_create_function(env, "startSolicitationResponder", NAPI_AUTO_LENGTH, start_solicitation_responder, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "startSolicitationResponder", fn) != napi_ok) return NULL;
  if (napi_create_function(env, "stopSolicitationResponder", NAPI_AUTO_LENGTH, stop_solicitation_responder, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "stopSolicitationResponder", fn) != napi_ok) return NULL;
  if (napi_create_function(env, "solicitationsAnswered", NAPI_AUTO_LENGTH, solicitations_answered, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "solicitationsAnswered", fn) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
