// netbind: the one socket option Node's dgram lacks for a DHCP server, SO_BINDTODEVICE, so the
// server answers only on the interface the operator chose (Linux). N-API: one build serves Node
// and Electron alike.
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <net/if.h>
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

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  if (napi_create_function(env, "bindToDevice", NAPI_AUTO_LENGTH, bind_to_device, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "bindToDevice", fn) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
