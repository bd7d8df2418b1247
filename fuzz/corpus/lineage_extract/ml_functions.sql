SELECT * FROM ML.PREDICT(MODEL `p.models.churn`, (SELECT * FROM `p.features.users`));
SELECT * FROM ML.EVALUATE(MODEL `p.models.churn`, TABLE `p.features.holdout`)
