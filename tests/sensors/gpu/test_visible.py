"""Which GPUs a job sees: CUDA_VISIBLE_DEVICES as CUDA reads it and gpu_ids (NVIDIA);
ROCR_VISIBLE_DEVICES then HIP_VISIBLE_DEVICES (AMD). Pure functions, no hardware."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wattprint.errors import ConfigError
from wattprint.sensors.gpu.visible import (
    GpuId,
    apply_gpu_ids,
    by_gpu,
    norm_id,
    rocm_visible_devices,
    visible_devices,
)

MIG_A = "MIG-aaaa0000-1111-2222-3333-444444444444"
MIG_B0 = "MIG-bbbb0000-1111-2222-3333-444444444444"
MIG_B1 = "MIG-bbbb0001-1111-2222-3333-444444444444"
GPUS = [
    GpuId(0, "GPU-0a1b2c3d-0000-4000-8000-000000000000", (MIG_A,)),
    GpuId(1, "GPU-0a1b9999-0000-4000-8000-000000000001"),
    GpuId(2, "GPU-7f000000-0000-4000-8000-000000000002", (MIG_B0, MIG_B1)),
    GpuId(3, "GPU-ffee0000-0000-4000-8000-000000000003"),
]


def indices(value: str | None, gpus: list[GpuId] = GPUS) -> list[int]:
    return [p.gpu.index for p in visible_devices(value, gpus).picks]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, [0, 1, 2, 3]),  # unset: all
        ("", []),  # empty: none
        ("  ", []),
        ("2,0", [2, 0]),  # CUDA's order is the list's
        (" 1 , 3 ", [1, 3]),  # strtoul skips leading blanks
        ("1gpu2,3ampere", [1, 3]),  # ...and stops at the first non-digit
        ("0,2,-1,1", [0, 2]),  # CUDA's own example: a negative index ends the list
        ("0,7,1", [0]),  # out of range ends the list
        ("0,x,1", [0]),
        ("0,,1", [0]),
        ("1,GPU-7f", [1]),  # another kind ends an index list
        ("0,1,0", []),  # a repeated device: no GPU at all
        (
            "GPU-7f000000-0000-4000-8000-000000000002,GPU-0a1b2c3d-0000-4000-8000-000000000000",
            [2, 0],
        ),
        ("GPU-7f,GPU-ffee", [2, 3]),  # unambiguous prefixes
        ("GPU-ff,GPU-0a1b", [3]),  # "GPU-0a1b" names two GPUs: ambiguous, ends the list
        ("GPU-ff,GPU-12345678", [3]),  # unknown UUID
        ("GPU-ff,0", [3]),  # an index in a UUID list ends it
        ("GPU-7f,GPU-7f000000", []),  # the same GPU twice
        ("MIG-bbbb0001", [2]),  # a MIG instance: its parent GPU
        (f"{MIG_A},MIG-bbbb0000", [0, 2]),
        ("MIG-GPU-7f000000-0000-4000-8000-000000000002/1/0", [2]),  # the pre-R470 form
        ("MIG-bbbb", []),  # ambiguous among two instances: nothing before it
    ],
)
def test_visible_devices_forms(value: str | None, expected: list[int]) -> None:
    assert indices(value) == expected


def test_truncation_and_repeats_are_explained() -> None:
    sel = visible_devices("0,7,1", GPUS)
    assert len(sel.notes) == 1 and "'7'" in sel.notes[0] and "after it" in sel.notes[0]
    assert "twice" in visible_devices("3,3", GPUS).notes[0]
    assert "empty" in visible_devices("", GPUS).notes[0]
    assert visible_devices(None, GPUS).notes == ()


def test_mig_instances_of_one_gpu_become_one_pick() -> None:
    sel = visible_devices("MIG-bbbb0000,MIG-bbbb0001", GPUS)
    assert [p.cuda_index for p in sel.picks] == [0, 1]
    (pick,) = by_gpu(sel.picks)
    assert pick.gpu.index == 2 and len(pick.via_mig) == 2 and pick.cuda_index == 0


def test_gpu_ids_are_relative_to_the_visible_devices() -> None:
    sel = visible_devices("3,1", GPUS)
    assert [p.gpu.index for p in apply_gpu_ids(sel, [1], GPUS).picks] == [1]
    assert [p.gpu.index for p in apply_gpu_ids(sel, ["0", 1], GPUS).picks] == [3, 1]
    by_uuid = apply_gpu_ids(sel, ["GPU-7f"], GPUS).picks  # a UUID names any GPU
    assert [(p.gpu.index, p.cuda_index) for p in by_uuid] == [(2, None)]
    assert apply_gpu_ids(sel, ["GPU-ffee"], GPUS).picks[0].cuda_index == 0
    assert apply_gpu_ids(sel, ["MIG-aaaa"], GPUS).picks[0].via_mig == (GPUS[0].migs[0],)
    assert apply_gpu_ids(sel, [], GPUS).picks == ()


@pytest.mark.parametrize("bad", [2, "5", "GPU-0a1b", "GPU-nope", "cuda:0", True, 1.0, -1])
def test_bad_gpu_ids_are_one_line_config_errors(bad: object) -> None:
    with pytest.raises(ConfigError) as info:
        apply_gpu_ids(visible_devices("3,1", GPUS), [bad], GPUS)  # type: ignore[list-item]
    assert "\n" not in str(info.value) and "gpu_ids" in str(info.value)


# -- properties -----------------------------------------------------------------------------
hexes = st.text("0123456789abcdef", min_size=8, max_size=8)


@st.composite
def inventories(draw: st.DrawFn) -> list[GpuId]:
    ids = draw(st.lists(hexes, min_size=1, max_size=8, unique=True))
    return [GpuId(i, f"GPU-{h}-0000-4000-8000-{i:012d}") for i, h in enumerate(ids)]


@given(st.text(max_size=40), inventories())
def test_any_text_gives_distinct_known_gpus(value: str, gpus: list[GpuId]) -> None:
    sel = visible_devices(value, gpus)
    chosen = [p.gpu for p in sel.picks]
    assert all(g in gpus for g in chosen)
    assert len({g.uuid for g in chosen}) == len(chosen)
    assert [p.cuda_index for p in sel.picks] == list(range(len(chosen)))


@given(inventories(), st.data())
def test_a_valid_list_is_taken_in_order_and_cut_at_the_first_invalid_entry(
    gpus: list[GpuId], data: st.DataObject
) -> None:
    order = data.draw(st.permutations(range(len(gpus))))
    k = data.draw(st.integers(0, len(gpus)))
    bad = data.draw(st.sampled_from(["-1", str(len(gpus) + 3), "abc", ""]))
    entries = [str(i) for i in order[:k]]
    assert indices(",".join(entries), gpus) == list(order[:k])
    tail = [str(i) for i in order[k:]]
    assert indices(",".join([*entries, bad, *tail]), gpus) == list(order[:k])


@given(inventories(), st.data())
def test_uuids_and_their_unique_prefixes_name_the_same_gpus(
    gpus: list[GpuId], data: st.DataObject
) -> None:
    order = data.draw(st.permutations(range(len(gpus))))
    full = ",".join(gpus[i].uuid for i in order)
    assert indices(full, gpus) == list(order)
    short = []
    for i in order:  # the shortest prefix that names one GPU
        n = 5
        while sum(g.uuid.startswith(gpus[i].uuid[:n]) for g in gpus) > 1:
            n += 1
        short.append(gpus[i].uuid[:n])
    assert indices(",".join(short), gpus) == list(order)


@given(inventories(), st.data())
def test_gpu_ids_indices_pick_from_the_visible_list(gpus: list[GpuId], data: st.DataObject) -> None:
    order = data.draw(st.permutations(range(len(gpus))))
    sel = visible_devices(",".join(map(str, order)), gpus)
    wanted = data.draw(st.lists(st.integers(0, len(gpus) - 1), max_size=4))
    picked = [p.gpu.index for p in apply_gpu_ids(sel, wanted, gpus).picks]
    assert picked == [order[w] for w in wanted]


# -- AMD: ROCR_VISIBLE_DEVICES, then HIP_VISIBLE_DEVICES (end to end in test_amd.py) ----------
@dataclass(frozen=True)
class Listed:
    physical: int
    ids: frozenset[str]


AMD = [
    Listed(i, frozenset({norm_id(f"GPU-{i}aff74a1-0000"), norm_id(f"0xC0FFEE{i}")}))
    for i in range(4)
]


def physical(environ: dict[str, str]) -> list[int]:
    return [g.physical for g in rocm_visible_devices(AMD, environ)[0]]


def test_norm_id_ignores_case_prefixes_and_dashes() -> None:
    assert norm_id(" GPU-3AFF74A1-0000 ") == norm_id("3aff74a10000") == "3aff74a10000"
    assert norm_id("0xC0FFEE2") == norm_id("GPU-c0ffee2") == "c0ffee2"


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, [0, 1, 2, 3]),
        ({"CUDA_VISIBLE_DEVICES": "3"}, [3]),  # HIP's alias
        ({"HIP_VISIBLE_DEVICES": "1", "CUDA_VISIBLE_DEVICES": "3"}, [1]),  # HIP wins
        ({"ROCR_VISIBLE_DEVICES": "GPU-C0FFEE2,0"}, [2, 0]),  # UUIDs, any id form
        ({"ROCR_VISIBLE_DEVICES": "3,1", "HIP_VISIBLE_DEVICES": "1,0"}, [1, 3]),
        ({"ROCR_VISIBLE_DEVICES": "0,7,1"}, [0, 1]),  # unlike CUDA: skipped, not the end
        ({"HIP_VISIBLE_DEVICES": "2,2"}, [2]),  # unlike CUDA: a repeat counts once
    ],
)
def test_rocm_visible_devices(environ: dict[str, str], expected: list[int]) -> None:
    assert physical(environ) == expected


def test_rocm_entries_that_name_nothing_are_reported() -> None:
    _, reasons = rocm_visible_devices(AMD, {"ROCR_VISIBLE_DEVICES": "0,7"})
    assert reasons == ["ROCR_VISIBLE_DEVICES='0,7': '7' names no GPU that amdsmi lists here"]
    chosen, reasons = rocm_visible_devices(AMD, {"HIP_VISIBLE_DEVICES": " "})
    assert chosen == [] and "set but empty" in reasons[0]


@given(
    rocr=st.lists(st.integers(0, 7), min_size=1, max_size=8, unique=True),
    hip=st.lists(st.integers(0, 7), min_size=1, max_size=8, unique=True),
)
def test_hip_indexes_into_what_rocr_left(rocr: list[int], hip: list[int]) -> None:
    gpus = [Listed(i, frozenset({f"id{i}"})) for i in range(8)]
    environ = {
        "ROCR_VISIBLE_DEVICES": ",".join(map(str, rocr)),
        "HIP_VISIBLE_DEVICES": ",".join(map(str, hip)),
    }
    chosen, reasons = rocm_visible_devices(gpus, environ)
    assert [g.physical for g in chosen] == [rocr[h] for h in hip if h < len(rocr)]
    assert len(reasons) == sum(h >= len(rocr) for h in hip)
