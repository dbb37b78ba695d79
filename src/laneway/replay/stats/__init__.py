"""Replay's statistics: pure functions from a run's rows to intervals, verdicts against the
baseline with Holm's step-down across candidates, how many more lines would settle an open
verdict, and sequential looks by alpha spending. docs/statistics.md explains each method.

    from laneway.replay.stats import analyse, run_samples
    stats = analyse(run_samples(RunDir(path)), np.random.default_rng(seed))

    samples       what the functions take: per cell, values tagged with their workload line
    run_samples   a run directory's rows as samples (scored as the summary scores them)
    resample      the cluster bootstrap's weight matrices, weighted means and quantiles
    binomial      Jeffreys, Clopper-Pearson's unseen share, Tango's paired score bound
    bounds        one-sided bounds at any level, whatever the method; p-values from them
    intervals     a cell's quality, cost per call and latency with intervals
    paired        a candidate's per-line difference from the baseline
    verdicts      better / non-inferior / worse / inconclusive from bounds and a margin
    multiplicity  Holm's step-down across candidates
    power         more lines to settle an inconclusive verdict
    sequential    alpha-spending boundaries and the decision at a look
    analysis      all of it for a run
    results       the typed results
"""
