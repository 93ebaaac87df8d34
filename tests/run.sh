#!/bin/sh
# The whole suite, as `make test` runs it (under tests/docker/engine.sh): everything but the engine
# tests on two xdist workers, then the engine tests (marker `docker`) in one process of their own.
#
# Why two runs: the engine tests share one engine, the labels they count containers by, and fixed
# container names, so two of them must never run side by side. `--dist loadgroup` with
# `xdist_group("docker")` was meant to keep them on one worker, but pytest-xdist 3.8 under pytest 9
# spread that group over both workers (seen in CI: test_local_deploy's cases ran at once on gw0 and
# gw1 and each saw the other's container). A separate serial run cannot interleave them.
#
# Both runs always run; the exit status is the first non-zero one.
py="${1:?usage: tests/run.sh PYTHON}"
"$py" -m pytest -n 2 -q -p no:cacheprovider -m "not docker"
first=$?
"$py" -m pytest -q -p no:cacheprovider -m docker
second=$?
[ "$first" -ne 0 ] && exit "$first"
exit "$second"
