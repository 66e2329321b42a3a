{
  "targets": [
    {
      "target_name": "netbind",
      "sources": ["native/netbind.c"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
