// pybind11 wrapper over native/kernels/projection.h for check.py: the product
// kernels (projection_cpu.cc, projection_cuda.cu) built as a PyTorch extension,
// plus the MARS/Frobenius maps as chains of ATen ops (the baseline).
#include <torch/extension.h>

#include <string>
#include <vector>

#include "projection.h"

namespace {

py::dict ToDict(const mars::ProjectionStats& s) {
  py::dict d;
  d["rows"] = s.rows;
  d["clipped"] = s.clipped;
  d["non_finite"] = s.nonFinite;
  d["max_before"] = s.maxDistanceBefore;
  d["max_after"] = s.maxDistanceAfter;
  d["sum_before"] = s.sumDistanceBefore;
  d["valid"] = s.statsValid;
  return d;
}

// None or a tensor (py::object rather than std::optional: the same code builds
// under PyTorch 1.13's C++14 default and 2.x).
const at::Tensor* Optional(const py::object& value, at::Tensor& holder) {
  if (value.is_none()) return nullptr;
  holder = value.cast<at::Tensor>();
  return &holder;
}

mars::ProjectionOptions Options(const std::string& mode, bool stats) {
  mars::ProjectionOptions o;
  if (mode == "exact-l1") {
    o.map = mars::RowMap::kExactL1;
  } else if (mode != "rescale") {
    throw std::invalid_argument("mode must be 'rescale' or 'exact-l1'");
  }
  o.collectStats = stats;
  return o;
}

py::dict ProjectMars(const at::Tensor& w, const py::object& w0, double radius, const std::string& mode, bool stats) {
  at::Tensor holder;
  return ToDict(mars::ProjectMarsRows(w, Optional(w0, holder), radius, Options(mode, stats)));
}

py::dict ProjectFrobenius(const at::Tensor& w, const py::object& w0, double radius, bool stats) {
  at::Tensor holder;
  return ToDict(mars::ProjectFrobenius(w, Optional(w0, holder), radius, Options("rescale", stats)));
}

py::dict ClipBatchNorm(const at::Tensor& weight, const at::Tensor& rv, const at::Tensor& weight0, const at::Tensor& rv0,
                       double radius, double eps, bool stats) {
  return ToDict(mars::ClipBatchNormScale(weight, rv, weight0, rv0, radius, eps, Options("rescale", stats)));
}

// The same maps as chains of ATen ops (as in native/projection_binding.cc).
void MarsOpChain(const at::Tensor& w, const at::Tensor& w0, double radius) {
  torch::NoGradGuard noGrad;
  const at::Tensor target = w.detach();
  const at::Tensor d = target - w0;
  const int64_t rows = target.size(0);
  std::vector<int64_t> viewShape(static_cast<size_t>(target.dim()), 1);
  viewShape[0] = rows;
  const at::Tensor norms = d.abs().reshape({rows, -1}).sum(1);
  const at::Tensor factor = (norms / radius).clamp_min(1.0).view(viewShape);
  target.copy_(w0 + d / factor);
}

void FrobeniusOpChain(const at::Tensor& w, const at::Tensor& w0, double radius) {
  torch::NoGradGuard noGrad;
  const at::Tensor target = w.detach();
  const at::Tensor d = target - w0;
  target.copy_(w0 + d / (d.norm() / radius).clamp_min(1.0));
}

void MarsOpChainMany(const std::vector<at::Tensor>& ws, const std::vector<at::Tensor>& w0s,
                     const std::vector<double>& radii) {
  for (size_t i = 0; i < ws.size(); ++i) MarsOpChain(ws[i], w0s[i], radii[i]);
}

void ProjectMarsMany(const std::vector<at::Tensor>& ws, const std::vector<at::Tensor>& w0s,
                     const std::vector<double>& radii, bool stats) {
  for (size_t i = 0; i < ws.size(); ++i) mars::ProjectMarsRows(ws[i], &w0s[i], radii[i], Options("rescale", stats));
}

py::list ProjectMarsBatch(const std::vector<at::Tensor>& ws, const std::vector<py::object>& w0s,
                          const std::vector<double>& radii, bool stats) {
  std::vector<mars::MarsTask> tasks;
  for (size_t i = 0; i < ws.size(); ++i) {
    mars::MarsTask t;
    t.w = ws[i];
    if (!w0s[i].is_none()) t.w0 = w0s[i].cast<at::Tensor>();
    t.radius = radii[i];
    tasks.push_back(t);
  }
  py::list out;
  for (const auto& s : mars::ProjectMarsRowsMany(tasks, Options("rescale", stats))) out.append(ToDict(s));
  return out;
}

}  // namespace

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("project_mars", &ProjectMars, py::arg("w"), py::arg("w0"), py::arg("radius"), py::arg("mode") = "rescale",
        py::arg("stats") = true);
  m.def("project_frobenius", &ProjectFrobenius, py::arg("w"), py::arg("w0"), py::arg("radius"),
        py::arg("stats") = true);
  m.def("clip_batchnorm", &ClipBatchNorm, py::arg("weight"), py::arg("running_var"), py::arg("weight0"),
        py::arg("running_var0"), py::arg("radius"), py::arg("eps") = 1e-6, py::arg("stats") = true);
  m.def("mars_op_chain", &MarsOpChain);
  m.def("frobenius_op_chain", &FrobeniusOpChain);
  m.def("mars_op_chain_many", &MarsOpChainMany);
  m.def("project_mars_many", &ProjectMarsMany);  // a loop of single calls
  m.def("project_mars_batch", &ProjectMarsBatch);  // ProjectMarsRowsMany: one launch per 48 tensors
}
