{
  "targets": [
    {
      "target_name": "timed_loop",
      "sources": ["native/timed-loop.c"],
      "include_dirs": ["node_modules/pkcs11js/includes/pkcs11"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "libraries": ["-lcrypto", "-ldl", "-lpthread"]
    }
  ]
}
