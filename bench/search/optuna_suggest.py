# Optuna's TPE suggestion for one log-uniform dimension on [e^-10, e^-1] given
# the observations in FILE ([value, loss] pairs), once per seed: the
# distribution of its next point, in log space, as JSON. FIXED 1: with the
# truncated-normal log density corrected by -log(scale) (see optuna_regret.py).
#   /usr/bin/python3 bench/search/optuna_suggest.py FILE SEEDS FIXED
import json, math, sys
import numpy as np
import optuna
from optuna.samplers._tpe import _truncnorm

if sys.argv[3] == "1":
    shipped = _truncnorm.logpdf
    _truncnorm.logpdf = lambda x, a, b, loc=0, scale=1: shipped(x, a, b, loc, scale) - np.log(scale)
optuna.logging.set_verbosity(optuna.logging.WARNING)
observations = json.load(open(sys.argv[1]))
dist = optuna.distributions.FloatDistribution(math.exp(-10), math.exp(-1), log=True)
out = []
for seed in range(int(sys.argv[2])):
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed, n_startup_trials=5))
    for x, loss in observations:
        study.add_trial(optuna.trial.create_trial(params={"w": x}, distributions={"w": dist}, value=loss))
    out.append(math.log(study.ask({"w": dist}).params["w"]))
print(json.dumps({"optuna": optuna.__version__, "suggestions": out}))
