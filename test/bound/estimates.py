"""Lower estimates of the quantities the bound bounds, for the tests:

montecarlo: E_eps ||sum_i eps_i x_i||_inf by Monte Carlo, for the single
    linear layer whose class complexity is exactly that times D / m.
ascent: for a Linear-ReLU-Linear network (biases fixed at their initial
    values), a lower estimate of E_eps sup_class sum_i eps_i f_k(x_i) (and of
    the same with an absolute value) by projected gradient ascent over the
    first layer's rows inside their l1 balls, for fixed sign draws; the second
    layer's supremum is taken in closed form (Hölder).

    /usr/bin/python3 test/bound/estimates.py FIXTURE_DIR REQUEST.json
REQUEST: {"kind": "montecarlo", "case", "draws"} or
         {"kind": "ascent", "case", "init"?, "radii": [D1, D2], "draws", "steps", "restarts"}
         (init: the file of the class's centre, NAME.init.pt by default)"""
import json
import os
import sys

import numpy as np
import torch


def load(fixtures, request):
    case = request["case"]
    meta = json.load(open(os.path.join(fixtures, case + ".json")))
    x = np.fromfile(os.path.join(fixtures, case + ".inputs.bin"), dtype="<f4").reshape(meta["shape"]).astype(np.float64)
    return x, torch.jit.load(os.path.join(fixtures, request.get("init", case + ".init.pt"))).state_dict()


def montecarlo(fixtures, request):
    x, _ = load(fixtures, request)
    rng = np.random.default_rng(1)
    eps = rng.choice([-1.0, 1.0], size=(request["draws"], x.shape[0]))
    sup = np.abs(eps @ x).max(1)
    return {"mean": float(sup.mean()), "stderr": float(sup.std() / np.sqrt(len(sup)))}


def project_rows(delta, radius):
    """Euclidean projection of every row onto the l1 ball of `radius` (Duchi et al. 2008)."""
    out = delta.clone()
    norms = delta.abs().sum(1)
    for r in torch.nonzero(norms > radius).flatten().tolist():
        v = delta[r].abs()
        u = torch.sort(v, descending=True).values
        css = torch.cumsum(u, 0) - radius
        k = torch.nonzero(u * torch.arange(1, len(u) + 1, dtype=u.dtype) > css).max()
        theta = css[k] / (k + 1)
        out[r] = torch.sign(delta[r]) * torch.clamp(v - theta, min=0)
    return out


def ascent(fixtures, request):
    x, sd = load(fixtures, request)
    x = torch.from_numpy(x)
    w1, b1, w2, b2 = (sd[k].double() for k in ("l1.weight", "l1.bias", "l2.weight", "l2.bias"))
    d1, d2 = request["radii"]
    gen = torch.Generator().manual_seed(3)
    signed, absolute = np.zeros((request["draws"], w2.shape[0])), np.zeros((request["draws"], w2.shape[0]))
    for t in range(request["draws"]):
        eps = torch.randint(0, 2, (x.shape[0],), generator=gen).double() * 2 - 1
        for k in range(w2.shape[0]):
            for sign in (1.0, -1.0):
                best = -np.inf
                for _ in range(request["restarts"]):
                    delta = project_rows(torch.randn(w1.shape, generator=gen, dtype=torch.float64), d1).requires_grad_(True)
                    opt = torch.optim.Adam([delta], lr=0.05)
                    for _ in range(request["steps"]):
                        s = eps @ torch.relu(x @ (w1 + delta).t() + b1)
                        value = sign * (w2[k] @ s + b2[k] * eps.sum()) + d2 * s.abs().max()
                        opt.zero_grad()
                        (-value).backward()
                        opt.step()
                        with torch.no_grad():
                            delta.copy_(project_rows(delta, d1))
                            s = eps @ torch.relu(x @ (w1 + delta).t() + b1)
                            best = max(best, float(sign * (w2[k] @ s + b2[k] * eps.sum()) + d2 * s.abs().max()))
                if sign > 0:
                    signed[t, k] = best
                absolute[t, k] = max(absolute[t, k], best)
    return {"signed": float(signed.mean(0).max()), "absolute": float(absolute.max(1).mean())}


def main(fixtures, request_file):
    torch.set_num_threads(1)
    request = json.load(open(request_file))
    print(json.dumps({"montecarlo": montecarlo, "ascent": ascent}[request["kind"]](fixtures, request)))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
