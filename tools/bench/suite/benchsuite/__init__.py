"""The benchmark suite behind run.py: workloads, modes, runner, tables and figures,
baseline check, docs writer. Python 3 standard library only."""
