"""The references of frames on their way to the edge: a lost frame's is undone."""

from __future__ import annotations

from pipelines.sent_references import MAX_ON_THE_WAY, SentReferences


def test_a_lost_newest_frame_goes_back_to_the_newest_still_on_its_way() -> None:
    refs: SentReferences[str] = SentReferences()
    refs.sent(1, "empty", "one")
    refs.sent(2, "one", "two")
    refs.sent(3, "two", "three")
    assert refs.lost(3) == "two"
    assert refs.lost(2) == "one"
    assert refs.lost(1) == "empty"  # nothing arrived: back to before the first


def test_a_lost_older_frame_leaves_the_newer_reference() -> None:
    refs: SentReferences[str] = SentReferences()
    refs.sent(1, "empty", "one")
    refs.sent(2, "one", "two")
    assert refs.lost(1) is None
    assert refs.lost(2) == "empty"


def test_after_an_arrival_a_loss_goes_back_no_further_than_it() -> None:
    refs: SentReferences[str] = SentReferences()
    refs.sent(1, "empty", "one")
    refs.sent(2, "one", "two")
    refs.arrived(1)
    assert refs.lost(2) == "one"
    refs.sent(3, "one", "three")
    refs.arrived(3)
    assert refs.lost(3) is None  # arrived: nothing to undo
    assert refs.lost(99) is None  # never sent


def test_frames_never_settled_do_not_pile_up() -> None:
    refs: SentReferences[int] = SentReferences()
    for seq in range(MAX_ON_THE_WAY + 10):
        refs.sent(seq, seq - 1, seq)
    newest = MAX_ON_THE_WAY + 9
    for seq in range(newest, 10, -1):
        assert refs.lost(seq) == seq - 1
    assert refs.lost(10) == 9  # the oldest kept counted as arrived
    assert refs.lost(9) is None
