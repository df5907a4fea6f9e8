# Optuna's TPE (the Python peer) on the objectives of objectives.json: every
# dimension log-uniform on [e^low, e^high]; regret = sum over dimensions of
# ((ln x - optimum) / (high - low))^2, zero at the optimum. Prints, per
# objective and seed, the best regret after each trial, as JSON.
# FIXED 1: with Optuna 3.1.0's truncated-normal log density corrected by
# -log(scale) (as shipped, it integrates to the scale, not to 1).
#   /usr/bin/python3 bench/search/optuna_regret.py OBJECTIVES.json SEEDS TRIALS STARTUP FIXED
import json, math, sys
import numpy as np
import optuna
from optuna.samplers._tpe import _truncnorm

if sys.argv[5] == "1":
    shipped = _truncnorm.logpdf
    _truncnorm.logpdf = lambda x, a, b, loc=0, scale=1: shipped(x, a, b, loc, scale) - np.log(scale)

optuna.logging.set_verbosity(optuna.logging.WARNING)
objectives = json.load(open(sys.argv[1]))
seeds, trials, startup = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
out = {}
for name, obj in objectives.items():
    dims = obj["dims"]
    def regret(trial):
        return sum(((math.log(trial.suggest_float(d["name"], math.exp(d["low"]), math.exp(d["high"]), log=True)) - d["optimum"]) / (d["high"] - d["low"])) ** 2 for d in dims)
    curves = []
    for seed in range(seeds):
        study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed, n_startup_trials=startup))
        study.optimize(regret, n_trials=trials)
        best, curve = math.inf, []
        for t in study.trials:
            best = min(best, t.value)
            curve.append(best)
        curves.append(curve)
    out[name] = curves
print(json.dumps({"optuna": optuna.__version__, "curves": out}))
