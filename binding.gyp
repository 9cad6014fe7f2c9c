{
  "targets": [
    {
      "target_name": "native_abi",
      "type": "none",
      "actions": [
        {
          "action_name": "native_abi_header",
          "inputs": ["<!@(node native/generate-abi.mjs --sources)"],
          "outputs": ["<(SHARED_INTERMEDIATE_DIR)/native-abi.h"],
          "action": ["node", "native/generate-abi.mjs", "--header", "<(SHARED_INTERMEDIATE_DIR)/native-abi.h"]
        }
      ]
    },
    {
      "target_name": "list_counts",
      "dependencies": ["native_abi"],
      "sources": ["native/list-counts.c"],
      "include_dirs": ["<(SHARED_INTERMEDIATE_DIR)", "<!(node -p \"require('path').join(require('path').dirname(require.resolve('pkcs11js/package.json')), 'includes', 'pkcs11')\")"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "libraries": ["-ldl"]
    },
    {
      "target_name": "timed_loop",
      "dependencies": ["native_abi"],
      "sources": ["native/timed-loop.c"],
      "include_dirs": ["<(SHARED_INTERMEDIATE_DIR)", "<!(node -p \"require('path').join(require('path').dirname(require.resolve('pkcs11js/package.json')), 'includes', 'pkcs11')\")"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "libraries": ["-lcrypto", "-ldl", "-lpthread", "-lm"]
    },
    {
      "target_name": "module_probe",
      "type": "executable",
      "dependencies": ["native_abi"],
      "sources": ["native/module-probe.c"],
      "include_dirs": ["<(SHARED_INTERMEDIATE_DIR)", "<!(node -p \"require('path').join(require('path').dirname(require.resolve('pkcs11js/package.json')), 'includes', 'pkcs11')\")"],
      "cflags": ["-O2", "-Wall", "-Wextra"],
      "libraries": ["-ldl"]
    }
  ]
}
