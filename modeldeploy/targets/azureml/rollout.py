"""Moving traffic to a new online deployment, step by step, with a way back.

:func:`traffic_steps` is pure (tested on its own); :class:`TrafficShift` runs the steps through the
adapter, watches the new deployment between steps, and on any failure puts the traffic map back
as it was, so the previous deployment keeps serving.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from modeldeploy.errors import ApplyError
from modeldeploy.progress import Progress
from modeldeploy.spec.targets.azureml import Rollout
from modeldeploy.targets.azureml.workspace import AzureMLAPI, DeploymentFailed

WATCH_POLL_SECONDS = 30.0


def split(old: Mapping[str, int], new: str, percent: int) -> dict[str, int]:
    """``percent`` to ``new`` and the rest to the ``old`` deployments in proportion to their current
    weights (largest remainder, so the map always sums to exactly 100; 0% entries are left out)."""
    rest = 100 - percent
    out: dict[str, int] = {new: percent} if percent else {}
    total = sum(old.values())
    if rest and old:
        weights = {k: (v if total else 1) for k, v in sorted(old.items())}
        wsum = sum(weights.values())
        exact = {k: rest * w / wsum for k, w in weights.items()}
        floor = {k: int(x) for k, x in exact.items()}
        left = rest - sum(floor.values())
        for k in sorted(exact, key=lambda k: (-(exact[k] - floor[k]), k))[:left]:
            floor[k] += 1
        out.update({k: v for k, v in floor.items() if v})
    return dict(sorted(out.items()))


def traffic_steps(old: Mapping[str, int], new: str, steps: list[int]) -> list[dict[str, int]]:
    """The traffic maps a rollout goes through; with nothing serving yet, straight to 100."""
    others = {k: v for k, v in old.items() if k != new and v}
    if not others:
        return [{new: 100}]
    return [split(others, new, s) for s in steps]


@dataclass
class TrafficShift:
    client: AzureMLAPI
    endpoint: str
    progress: Progress
    sleep: Callable[[float], None]
    clock: Callable[[], float]
    mirror_supported: bool = True

    def run(self, new: str, rollout: Rollout) -> dict[str, int]:
        live = self.client.get_endpoint(self.endpoint)
        if live is None:
            raise ApplyError(f"endpoint {self.endpoint} disappeared before its traffic could be set")
        before, before_mirror = dict(live.traffic), dict(live.mirror_traffic)
        others = {k: v for k, v in before.items() if k != new}
        maps = traffic_steps(before, new, rollout.plan_steps())
        try:
            if others and rollout.strategy == "mirror_first" and self.mirror_supported:
                self._set(
                    split(others, new, 0),
                    {new: rollout.mirror_percent},
                    f"mirror {rollout.mirror_percent}% of traffic to {new}",
                )
                self._watch(new, rollout.wait_seconds)
            for i, traffic in enumerate(maps):
                self._set(traffic, {}, "traffic " + ", ".join(f"{k}={v}%" for k, v in traffic.items()))
                if i < len(maps) - 1:
                    self._watch(new, rollout.wait_seconds)
        except ApplyError as exc:
            self.progress.warn(f"rolling back traffic on {self.endpoint}: {exc.message}")
            try:
                self.client.set_traffic(self.endpoint, before, before_mirror if self.mirror_supported else {})
            except ApplyError as again:  # pragma: no cover - both failing is reported together
                raise ApplyError(f"{exc.message}; rolling traffic back also failed: {again.message}") from None
            raise ApplyError(
                f"{exc.message}; traffic on {self.endpoint} restored to "
                + (", ".join(f"{k}={v}%" for k, v in before.items()) or "none"),
                hint=exc.hint,
            ) from None
        return maps[-1]

    def _set(self, traffic: dict[str, int], mirror: dict[str, int], what: str) -> None:
        with self.progress.wait(f"{self.endpoint}: {what}") as h:
            self.client.set_traffic(self.endpoint, traffic, mirror, on_status=h.update)

    def _watch(self, new: str, seconds: float) -> None:
        """Wait ``seconds`` while checking that ``new`` stays healthy (Succeeded)."""
        end = self.clock() + seconds
        with self.progress.wait(f"watching {new} for {int(seconds)} s") as h:
            while True:
                dep = self.client.get_deployment(self.endpoint, new)
                state = (dep.provisioning_state if dep else None) or ("missing" if dep is None else "Succeeded")
                if state.lower() != "succeeded":
                    raise DeploymentFailed(self.endpoint, new, f"became {state} during rollout")
                left = end - self.clock()
                if left <= 0:
                    break
                h.update(f"{state}, {int(left)} s left")
                self.sleep(min(WATCH_POLL_SECONDS, left))
