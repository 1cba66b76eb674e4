"""Optuna 3.1's TPESampler (defaults) on the same objective modelport's TPE searches: the values
come from bench/training/objective.ts over a pipe, so both samplers optimise one function.
Prints JSON: best value per seed and the sampler's own time per trial (objective excluded).
With a fifth argument "multivariate", TPESampler(multivariate=True).
    /usr/bin/python3 bench/training/optuna_tpe.py KIND SEEDS TRIALS [ROUNDS [multivariate]]"""
import json, subprocess, sys, time, warnings
import optuna

optuna.logging.set_verbosity(optuna.logging.WARNING)
# multivariate=True is marked experimental in 3.1; the warning would only clutter the bench's output.
warnings.filterwarnings('ignore', category=optuna.exceptions.ExperimentalWarning)
kind, seeds, trials = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rounds = sys.argv[4] if len(sys.argv) > 4 else '30'
multivariate = len(sys.argv) > 5 and sys.argv[5] == 'multivariate'
proc = subprocess.Popen(['node', '--import', 'tsx', 'bench/training/objective.ts', kind, rounds], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def evaluate(params):
    proc.stdin.write(json.dumps(params) + '\n')
    proc.stdin.flush()
    return float(proc.stdout.readline())


best, overhead = [], []
for seed in range(1, seeds + 1):
    direction = 'maximize' if kind == 'gbdt' else 'minimize'
    study = optuna.create_study(direction=direction, sampler=optuna.samplers.TPESampler(seed=seed, multivariate=multivariate))
    for _ in range(trials):
        t0 = time.perf_counter()
        trial = study.ask()
        if kind == 'gbdt':
            params = {
                'eta': trial.suggest_float('eta', 0.01, 0.5, log=True),
                'max_depth': trial.suggest_int('max_depth', 2, 10),
                'min_child_weight': trial.suggest_float('min_child_weight', 0.1, 50, log=True),
                'lambda': trial.suggest_float('lambda', 0.01, 100, log=True),
            }
        else:
            params = {'x': trial.suggest_float('x', -5, 5), 'y': trial.suggest_float('y', -5, 5)}
        overhead.append(time.perf_counter() - t0)
        study.tell(trial, evaluate(params))
    best.append(study.best_value)
proc.stdin.close()
proc.wait()
print(json.dumps({'best': best, 'overheadMs': 1000 * sum(overhead) / len(overhead)}))
