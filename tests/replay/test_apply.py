"""`lane_edit` and the config file's check: the lane's change as a diff, written with the
file's comments and layout kept, a canary as a split, the shipped lane written whole when the
file lacks it, a change that would not load refused, and a file changed since the run refused."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from laneway.replay.apply import ApplyError, check_unchanged, lane_edit
from laneway.replay.run_dir import RunManifest
from laneway.replay.run_setup import CONFIG_HASH, file_sha256
from laneway.routing.lane_config import LaneConfig

CONFIG = """\
# Our gateway: owned by the platform team.
[server]
port = 8080  # behind the proxy

# The old path, kept while it is migrated.
[lanes.legacy]
description = "The gpt-5.2 path"  # ask team A before changing
policy = "ordered"
candidates = ["gpt-5.2"]  # what serves it today
fallbacks = ["gpt-5.4"]
max_effort = "none"
"""


def _lane(text: str, name: str = "legacy") -> LaneConfig:
    return LaneConfig.model_validate(tomllib.loads(text)["lanes"][name])


def test_the_change_is_a_diff_of_candidates_and_effort(tmp_path: Path) -> None:
    path = tmp_path / "laneway.toml"
    edit = lane_edit(CONFIG, path, "legacy", "gpt-5.4-mini", "low")
    assert edit.diff() == (
        f"--- {path} (now)\n"
        f"+++ {path} (applied)\n"
        "@@ -6,6 +6,7 @@\n"
        " [lanes.legacy]\n"
        ' description = "The gpt-5.2 path"  # ask team A before changing\n'
        ' policy = "ordered"\n'
        '-candidates = ["gpt-5.2"]  # what serves it today\n'
        '-fallbacks = ["gpt-5.4"]\n'
        '-max_effort = "none"\n'
        '+candidates = ["gpt-5.4-mini"]  # what serves it today\n'
        '+fallbacks = ["gpt-5.2", "gpt-5.4"]\n'
        '+max_effort = "low"\n'
        '+effort = "low"\n'
    )
    assert edit.notes == ("max_effort raised from none to low, so the effort can be sent",)
    lane = _lane(edit.after)
    assert [c.model for c in lane.candidates] == ["gpt-5.4-mini"]
    assert (lane.effort, lane.fallbacks) == ("low", ("gpt-5.2", "gpt-5.4"))


def test_every_comment_and_untouched_line_is_kept(tmp_path: Path) -> None:
    after = lane_edit(CONFIG, tmp_path / "c.toml", "legacy", "gpt-5.4-mini", "low").after
    before_lines = CONFIG.splitlines()
    for kept in [line for line in before_lines if "candidates" not in line]:
        if kept.startswith(("fallbacks", "max_effort")):
            continue
        assert kept in after.splitlines()
    assert "# what serves it today" in after
    assert after.startswith("# Our gateway: owned by the platform team.\n[server]\n")


def test_a_canary_is_a_split_with_the_new_model_at_its_share(tmp_path: Path) -> None:
    edit = lane_edit(CONFIG, tmp_path / "c.toml", "legacy", "gpt-5.4-mini", "low", canary=0.05)
    lane = _lane(edit.after)
    assert lane.policy == "split"
    assert [(c.model, c.weight) for c in lane.candidates] == [("gpt-5.4-mini", 5), ("gpt-5.2", 95)]
    assert lane.fallbacks == ("gpt-5.4",)
    assert "the lane's effort applies to both arms of the split" in edit.notes
    with pytest.raises(ApplyError, match=r"already serves gpt-5\.2"):
        lane_edit(CONFIG, tmp_path / "c.toml", "legacy", "gpt-5.2", "low", canary=0.05)
    with pytest.raises(ApplyError, match="whole percents"):
        lane_edit(CONFIG, tmp_path / "c.toml", "legacy", "gpt-5.4-mini", None, canary=0.001)


def test_a_shipped_lane_the_file_lacks_is_written_whole(tmp_path: Path) -> None:
    text = "# just the server\n[server]\nport = 8080\n"
    edit = lane_edit(text, tmp_path / "c.toml", "coding", "gpt-5.4-nano", None)
    assert edit.after.startswith(text)
    lane = _lane(edit.after, "coding")
    assert [c.model for c in lane.candidates] == ["gpt-5.4-nano"]
    assert lane.fallbacks == ("gpt-5.4-mini", "gpt-5.4")  # the shipped lane's, kept behind it
    assert (lane.description, lane.effort, lane.max_effort) == (
        "Standard coding tasks",
        "none",
        "high",
    )
    assert "shipped" in edit.notes[0]
    with pytest.raises(ApplyError, match="neither in"):
        lane_edit(text, tmp_path / "c.toml", "nowhere", "gpt-5.4-nano", None)


def test_a_change_that_would_not_load_is_refused(tmp_path: Path) -> None:
    broken = CONFIG.replace('policy = "ordered"', 'policy = "ordered"\nbogus = 1')
    with pytest.raises(ApplyError, match="would not load"):
        lane_edit(broken, tmp_path / "c.toml", "legacy", "gpt-5.4-mini", "low")


def test_a_file_changed_since_the_run_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "laneway.toml"
    path.write_text(CONFIG)
    manifest = _manifest({CONFIG_HASH: file_sha256(path)})
    check_unchanged(path, manifest)  # as the run saw it
    path.write_text(CONFIG + "\n# an edit since\n")
    with pytest.raises(ApplyError, match="changed since run run_test"):
        check_unchanged(path, manifest)
    with pytest.raises(ApplyError, match="given no config file"):
        check_unchanged(path, _manifest({}))


def _manifest(extra: dict[str, object]) -> RunManifest:
    return RunManifest(
        "run_test", 0.0, (), (), 1, 1, None, "replay", "emulator", None, (), 1, extra=extra
    )
