{
  "targets": [
    {
      "target_name": "list_counts",
      "sources": ["native/list-counts.c"],
      "include_dirs": ["<!(node -p \"require('path').join(require('path').dirname(require.resolve('pkcs11js/package.json')), 'includes', 'pkcs11')\")"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "libraries": ["-ldl"]
    },
    {
      "target_name": "timed_loop",
      "sources": ["native/timed-loop.c"],
      "include_dirs": ["<!(node -p \"require('path').join(require('path').dirname(require.resolve('pkcs11js/package.json')), 'includes', 'pkcs11')\")"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "libraries": ["-lcrypto", "-ldl", "-lpthread", "-lm"]
    },
    {
      "target_name": "module_probe",
      "type": "executable",
      "sources": ["native/module-probe.c"],
      "include_dirs": ["<!(node -p \"require('path').join(require('path').dirname(require.resolve('pkcs11js/package.json')), 'includes', 'pkcs11')\")"],
      "cflags": ["-O2", "-Wall", "-Wextra"],
      "libraries": ["-ldl"]
    }
  ]
}
