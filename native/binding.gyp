{
  "variables": {
    "torch_include": "<!(node find-libtorch.mjs include)",
    "torch_libdir": "<!(node find-libtorch.mjs libdir)",
    "torch_abi": "<!(node find-libtorch.mjs abi)",
    "torch_cuda": "<!(node find-libtorch.mjs cuda)",
    "torch_std": "<!(node find-libtorch.mjs std)",
    "torch_nccl": "<!(node find-libtorch.mjs nccl)",
    "nccl_include": "<!(node find-libtorch.mjs nccl-include)"
  },
  "targets": [
    {
      "target_name": "torchforge_native",
      "sources": [
        "src/addon.cc",
        "src/tensor-handle.cc",
        "src/ops-creation.cc",
        "src/ops-shape.cc",
        "src/ops-math.cc",
        "src/ops-nn.cc",
        "src/autograd-optim.cc",
        "src/cpu-allocator.cc",
        "src/ops-sampling.cc",
        "src/packed-linear.cc",
        "src/inference-kernels.cc",
        "src/gguf-dequant.cc",
        "src/distributed.cc",
        "src/grad-reducer.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "<@(torch_include)"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_CPP_EXCEPTIONS", "_GLIBCXX_USE_CXX11_ABI=<(torch_abi)"],
      "cflags!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++20"],
      "cflags_cc": ["-std=<(torch_std)", "-fexceptions", "-frtti", "-O2", "-Wno-unused-parameter", "-Wno-deprecated-declarations"],
      "libraries": [
        "-L<(torch_libdir)", "-Wl,-rpath,<(torch_libdir)",
        "-Wl,--no-as-needed", "-ltorch_cpu", "-lc10", "-Wl,--as-needed"
      ],
      "conditions": [
        ["'<(torch_cuda)'=='1'", { "libraries": ["-Wl,--no-as-needed", "-ltorch_cuda", "-lc10_cuda", "-Wl,--as-needed"], "defines": ["TORCHFORGE_WITH_CUDA=1"] }],
        ["'<(torch_nccl)'=='1'", {
          "sources": ["src/distributed-nccl.cc"],
          "include_dirs": ["<@(nccl_include)"],
          "defines": ["TORCHFORGE_WITH_NCCL=1"],
          "cflags_cc": ["-Wno-interference-size"]
        }]
      ]
    }
  ]
}
