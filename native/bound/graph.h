// The forward graph of a TorchScript module as plain data, for the bound's
// graph walk (lib/bound/plan.ts): every node that computes, with its inputs,
// outputs, constants, parameter names and the shapes one sample run gave.
#pragma once

#include <ATen/ATen.h>
#include <torch/script.h>

#include <string>
#include <vector>

namespace mars {

struct GraphValue {
  std::string name;   // TorchScript's debug name
  std::string type;   // "Tensor", "int", "int[]", "float", "bool", "NoneType", ...
  std::string param;  // dotted parameter or buffer name when the value is one
  bool isConstant = false;
  c10::IValue constant;  // set when isConstant (tensor constants are left empty)
  bool hasShape = false;
  std::vector<int64_t> shape;  // from the sample run, for tensors
};

struct GraphNode {
  std::string kind;                  // "aten::conv2d", "prim::ListConstruct", ...
  std::vector<int64_t> inputs;       // value indices; for nodes with blocks, also what the blocks read
  std::vector<int64_t> outputs;
  bool hasBlocks = false;            // control flow left after folding the eval-mode constants
  std::string scope;                 // submodule path the node was inlined from ("layer1.0.bn1")
  std::string source;                // "file:line" of the code that made the node
};

struct ModuleGraph {
  std::vector<GraphValue> values;
  std::vector<GraphNode> nodes;
  int64_t input = -1;
  std::vector<int64_t> outputs;
};

// Inlines `forward`, resolves attribute chains to parameter names, folds the
// module's non-tensor attributes (with `training` = false: the bound is about
// the network in eval mode) and the branches they decide, then runs the graph
// once on `sample` to record every tensor's shape.
ModuleGraph ExportForwardGraph(const torch::jit::Module& module, const at::Tensor& sample);

}  // namespace mars
