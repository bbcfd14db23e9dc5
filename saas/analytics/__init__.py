"""Analytics computations (issue #10): CLV, association rules, churn scores.

Pure computations and set-based extraction; results are stored by `saas.jobs.analytics`
in the tables of `saas.models.analytics`.
"""
