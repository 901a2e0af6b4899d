"""The commented study template written by ``rigorlab init``."""

TEMPLATE = """\
# A rigorlab study. Check it with `rigorlab check {file}`, run it with `rigorlab run {file}`.
study: {name}                       # the study's name in the store
question: Does model B beat model A on these datasets?
seed: 2026                          # every replicate's seeds derive from this one
replicates: 5                       # repetitions of the whole experiment (10 or more for tight intervals)

datasets:
  - name: breast_cancer             # a scikit-learn built-in: iris, wine, breast_cancer, digits, diabetes
  # - name: credit
  #   path: data/credit.csv         # CSV or Parquet, relative to this file
  #   target: default               # the label column
  #   sensitive: [sex]              # columns for fairness audits (not features unless listed in features:)
  # - name: arrests
  #   package: sklego               # a file shipped inside an installed package
  #   path: data/arrests.zip
  #   target: released
  # - name: mine
  #   callable: mymodule:load       # module:function returning a pandas DataFrame
  #   target: label

models:
  - name: logreg
    estimator: sklearn.linear_model.LogisticRegression
    params: {{C: 1.0, max_iter: 2000}}  # a list is a grid: C: [0.1, 1.0, 10.0]
    preprocess: [impute, standard_scale] # impute, one_hot, ordinal, standard_scale; fit on training rows only
  - name: random_forest
    estimator: sklearn.ensemble.RandomForestClassifier
    params: {{n_estimators: 200}}
    # timeout: 600                  # seconds before a trial is stopped and stored as failed
    # mitigation: threshold_optimizer  # or exponentiated_gradient: fairlearn on the sensitive: columns (an arm)
  # - name: mlp                     # a PyTorch model: the replicates train together as one stacked model
  #   trainer: torch
  #   module: mynets:MLP            # a torch.nn.Module class beside this file (gets in_features, out_features)
  #   params: {{hidden: 64}}
  #   preprocess: [standard_scale]
  #   training: {{optimizer: adamw, lr: 0.003, epochs: 30, batch_size: 32, early_stopping: {{patience: 5}}}}

protocol:
  kind: repeated_kfold              # holdout | kfold | stratified_kfold | repeated_kfold | group_shift
  folds: 5
  # inner_folds: 3                  # nested selection: an inner CV picks each grid's values
  # (holdout takes test_size: 0.25 instead of folds; group_shift trains on some values of each dataset's
  #  group: column -- train_groups: [a, b] or train_until: 2001 -- tests on the others, and holds out
  #  test_size of the training groups' rows as the in-distribution test)

metrics: [accuracy, roc_auc, f1_macro]   # also balanced_accuracy, log_loss, brier, r2, mae, rmse, ...
primary_metric: accuracy
baseline: logreg

# audits: [data, fairness, robustness, explain, cards]   # run by `rigorlab run`: data before training
# audits: {{strict: true, data: {{}}, fairness: {{n_boot: 500}}}}  # strict: a severe data finding stops the run
"""
