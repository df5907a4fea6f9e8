{
  "targets": [
    {
      "target_name": "mars_finetune",
      "sources": [
        "<!@(node -e \"const fs=require('fs');for(const d of ['native','native/core','native/train','native/bound','native/kernels','native/distributed','native/data'])for(const f of fs.readdirSync(d))if(f.endsWith('.cc'))console.log(d+'/'+f)\")"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "native",
        "<!@(node lib/native/find-libtorch.mjs --field includeDirs)"
      ],
      "defines": [
        "NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED",
        "_GLIBCXX_USE_CXX11_ABI=<!(node lib/native/find-libtorch.mjs --field abiFlag)",
        "<!@(node lib/native/find-libtorch.mjs --field distributedDefines)"
      ],
      "cflags!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-frtti", "-O3", "-Wno-unused-parameter", "-fopenmp"],
      "ldflags": ["-fopenmp"],
      "libraries": [
        "-L<!(node lib/native/find-libtorch.mjs --field libDir)",
        "-Wl,-rpath,<!(node lib/native/find-libtorch.mjs --field libDir)",
        "-ltorch", "-ltorch_cpu", "-lc10",
        "-lturbojpeg", "-lpng16"
      ]
    }
  ]
}
