#include "bound/graph.h"

#include <torch/csrc/jit/ir/constants.h>
#include <torch/csrc/jit/passes/constant_propagation.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>
#include <torch/csrc/jit/runtime/interpreter.h>

#include <functional>
#include <set>
#include <unordered_map>

#include "core/errors.h"
#include "core/module.h"

namespace mars {
namespace {

using torch::jit::Block;
using torch::jit::Graph;
using torch::jit::Node;
using torch::jit::Value;

void CollectNodes(Block* block, std::vector<Node*>& out) {
  for (Node* n : block->nodes()) {
    out.push_back(n);
    for (Block* b : n->blocks()) CollectNodes(b, out);
  }
}

// Calls `visit(node, path, value)` for every attribute read reachable from
// `self`, in program order, with the attribute's dotted path and its value on
// this module object.
void WalkAttributes(Graph& graph, const torch::jit::Module& module,
                    const std::function<void(Node*, const std::string&, const c10::IValue&)>& visit) {
  std::vector<Node*> all;
  CollectNodes(graph.block(), all);
  std::unordered_map<Value*, std::pair<c10::IValue, std::string>> objects{{graph.inputs()[0], {module._ivalue(), ""}}};
  for (Node* n : all) {
    if (n->kind() != c10::prim::GetAttr) continue;
    auto parent = objects.find(n->input());
    if (parent == objects.end() || !parent->second.first.isObject()) continue;
    const std::string name = n->s(c10::attr::name);
    const std::string path = parent->second.second.empty() ? name : parent->second.second + "." + name;
    const c10::IValue value = parent->second.first.toObject()->getAttr(name);
    if (value.isObject()) objects[n->output()] = {value, path};
    visit(n, path, value);
  }
}

// Turns reads of plain attributes (flags, numbers, None) into constants so that
// constant propagation can take the eval-mode branch of every `if self.training`
// and drop the bookkeeping of running statistics. Attributes that forward
// assigns are left alone.
void FoldPlainAttributes(Graph& graph, const torch::jit::Module& module) {
  std::vector<Node*> all;
  CollectNodes(graph.block(), all);
  std::set<std::string> assigned;
  for (Node* n : all) {
    if (n->kind() == c10::prim::SetAttr) assigned.insert(n->s(c10::attr::name));
  }
  WalkAttributes(graph, module, [&](Node* n, const std::string&, const c10::IValue& value) {
    const std::string name = n->s(c10::attr::name);
    if (value.isTensor() || value.isObject() || assigned.count(name)) return;
    torch::jit::WithInsertPoint point(n);
    const auto constant = torch::jit::tryInsertConstant(graph, name == "training" ? c10::IValue(false) : value);
    if (constant) n->output()->replaceAllUsesWith(*constant);
  });
}

bool HoldsTensor(const c10::TypePtr& type) {
  if (type->kind() == c10::TypeKind::TensorType) return true;
  for (const auto& contained : type->containedTypes()) {
    if (HoldsTensor(contained)) return true;
  }
  return false;
}

bool ReadsOnlyShape(const Node* n) {
  const auto kind = n->kind();
  return kind == c10::aten::dim || kind == c10::aten::size || kind == c10::aten::len || kind == c10::Symbol::aten("numel");
}

bool BlockTouchesTensors(Block* block) {
  for (Node* n : block->nodes()) {
    if (ReadsOnlyShape(n)) continue;
    for (Value* v : n->inputs()) {
      if (HoldsTensor(v->type())) return true;
    }
    for (Value* v : n->outputs()) {
      if (HoldsTensor(v->type())) return true;
    }
    for (Block* b : n->blocks()) {
      if (BlockTouchesTensors(b)) return true;
    }
  }
  return false;
}

// An argument check (`if x.dim() != 4: raise ...`): control flow that yields
// nothing and reads no tensor beyond its shape can only abort, never change a value.
bool IsCheck(Node* n) {
  if (n->blocks().empty() || !n->outputs().empty()) return false;
  for (Block* b : n->blocks()) {
    if (BlockTouchesTensors(b)) return false;
  }
  return true;
}

bool IsWithin(const Node* inner, const Node* outer) {
  for (const Block* b = inner->owningBlock(); b != nullptr && b->owningNode() != nullptr; b = b->owningNode()->owningBlock()) {
    if (b->owningNode() == outer) return true;
  }
  return false;
}

// A node's inputs, plus every outside value its blocks read: what it depends on.
std::vector<Value*> Reads(Node* n) {
  std::vector<Value*> reads(n->inputs().begin(), n->inputs().end());
  std::vector<Node*> nested;
  for (Block* b : n->blocks()) CollectNodes(b, nested);
  for (Node* inner : nested) {
    for (Value* v : inner->inputs()) {
      if (v->node() != n && !IsWithin(v->node(), n)) reads.push_back(v);
    }
  }
  return reads;
}

// The submodule path a node was inlined from, and the user's line that called it.
std::pair<std::string, std::string> Origin(Node* n) {
  std::string scope;
  torch::jit::SourceRange range = n->sourceRange();
  if (auto stack = n->callstack()) {
    const auto entries = (*stack)->vec();
    if (!entries.empty()) range = std::get<1>(entries.front());
    for (const auto& entry : entries) {
      const auto& info = std::get<2>(entry);
      // "SELF" marks a method called on the module itself, not a submodule.
      if (!info || info->instance_name().empty() || info->instance_name() == "SELF") continue;
      scope += (scope.empty() ? "" : ".") + info->instance_name();
    }
  }
  std::string source;
  if (auto where = range.file_line_col()) source = std::get<0>(*where) + ":" + std::to_string(std::get<1>(*where));
  return {scope, source};
}

}  // namespace

ModuleGraph ExportForwardGraph(const torch::jit::Module& module, const at::Tensor& sample) {
  auto graph = module.get_method("forward").graph()->copy();
  if (graph->inputs().size() != 2) {
    throw CodedError("ERR_BOUND_UNSUPPORTED", "bound not available: forward must take exactly one tensor, it takes " +
                                                  std::to_string(graph->inputs().size() - 1) + " arguments");
  }
  InlineAll(*graph);
  FoldPlainAttributes(*graph, module);
  torch::jit::ConstantPropagation(graph);
  // Argument checks go, and with them the shape arithmetic that fed them.
  std::vector<Node*> checks;
  for (Node* n : graph->nodes()) {
    if (IsCheck(n)) checks.push_back(n);
  }
  for (Node* n : checks) n->destroy();
  torch::jit::EliminateDeadCode(graph);

  std::unordered_map<Value*, std::string> params;
  WalkAttributes(*graph, module, [&](Node* n, const std::string& path, const c10::IValue& value) {
    if (value.isTensor()) params[n->output()] = path;
  });

  ModuleGraph out;
  std::unordered_map<Value*, int64_t> index;
  std::vector<Value*> watched;  // tensors whose shape the sample run records
  auto id = [&](Value* v) -> int64_t {
    auto found = index.find(v);
    if (found != index.end()) return found->second;
    GraphValue gv;
    gv.name = v->debugName();
    gv.type = v->type()->annotation_str();
    auto param = params.find(v);
    if (param != params.end()) gv.param = param->second;
    if (v->node()->kind() == c10::prim::Constant) {
      gv.isConstant = true;
      if (auto constant = torch::jit::toIValue(v); constant && !constant->isTensor()) gv.constant = *constant;
    }
    out.values.push_back(std::move(gv));
    index[v] = static_cast<int64_t>(out.values.size() - 1);
    return index[v];
  };

  Value* input = graph->inputs()[1];
  out.input = id(input);
  watched.push_back(input);
  for (Node* n : graph->nodes()) {
    const auto kind = n->kind();
    if (kind == c10::prim::Constant || kind == c10::prim::GetAttr) continue;
    GraphNode node;
    node.kind = kind.toQualString();
    node.hasBlocks = !n->blocks().empty();
    for (Value* v : Reads(n)) node.inputs.push_back(id(v));
    for (Value* v : n->outputs()) {
      node.outputs.push_back(id(v));
      if (v->type()->kind() == c10::TypeKind::TensorType) watched.push_back(v);
    }
    std::tie(node.scope, node.source) = Origin(n);
    out.nodes.push_back(std::move(node));
  }
  for (Value* v : graph->outputs()) out.outputs.push_back(id(v));

  // One run with every watched tensor as an extra output gives all the shapes.
  const size_t first = graph->outputs().size();
  for (Value* v : watched) graph->registerOutput(v);
  torch::jit::Code code(graph, "bound_shapes");
  torch::jit::InterpreterState state(code);
  torch::jit::Stack stack{module._ivalue(), sample};
  {
    torch::NoGradGuard noGrad;
    state.run(stack);
  }
  for (size_t i = 0; i < watched.size(); ++i) {
    const c10::IValue& value = stack.at(first + i);
    if (!value.isTensor()) continue;
    GraphValue& gv = out.values[index[watched[i]]];
    gv.hasShape = true;
    gv.shape = value.toTensor().sizes().vec();
  }
  return out;
}

}  // namespace mars
