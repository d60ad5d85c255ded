"""Trains LightGBM on the rows wagewatch's boosted trees were trained on, with the same settings, and writes
its raw scores (log-odds) for the held-out rows. Called by the gated test `boosted_trees_match_lightgbm`
(WAGEWATCH_LIGHTGBM=1) with: train.csv test.csv params.json out.csv. The features are small integers, so
both libraries give every distinct value a bin of its own: they see the same binned features."""
import json
import sys

import lightgbm as lgb
import numpy as np

train_path, test_path, params_path, out_path = sys.argv[1:5]
train = np.loadtxt(train_path, delimiter=",")
test = np.loadtxt(test_path, delimiter=",")
p = json.load(open(params_path))
params = {
    "objective": "binary",
    "boost_from_average": True,
    "learning_rate": p["learning_rate"],
    "num_leaves": p["num_leaves"],
    "max_depth": p["max_depth"],
    "min_data_in_leaf": p["min_data_in_leaf"],
    "min_sum_hessian_in_leaf": p["min_sum_hessian_in_leaf"],
    "lambda_l2": p["lambda_l2"],
    "max_bin": 255,
    "min_data_in_bin": 1,
    "bagging_fraction": 1.0,
    "feature_fraction": 1.0,
    "num_threads": 1,
    "deterministic": True,
    "verbose": -1,
}
booster = lgb.train(params, lgb.Dataset(train[:, 1:], label=train[:, 0]), num_boost_round=p["rounds"])
np.savetxt(out_path, booster.predict(test[:, 1:], raw_score=True))
