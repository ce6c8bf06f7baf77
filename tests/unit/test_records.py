"""Records as query parameters: the fields as they are, vectors with a short repr that the
driver still sends as the same list."""

from __future__ import annotations

import pytest
from neo4j._codec.packstream.v1 import PackableBuffer, Packer

from kg.records import PassageRecord, QuietVector, quiet_vector


def _passage(embedding: list[float] | None) -> PassageRecord:
    return PassageRecord(
        key="d@1.0/en#p1", text="t", lang="en", doc_id="d", version="1.0",
        version_key="d@1.0/en", section_key="d@1.0/en#s", align_key="s",
        section_kind="policy", heading_path=["H"], order=1, line_start=3, line_end=3,
        source_path="d.en.md", embedding=embedding, embedding2=embedding,
    )  # fmt: skip


def _packed(value: object) -> bytes:
    buf = PackableBuffer()
    Packer(buf).pack(value)
    return bytes(buf.data)


@pytest.mark.parametrize("embedding", [[0.25, -1.5, 3e-7] * 128, None], ids=["vector", "none"])
def test_params_are_the_fields_and_pack_as_plain_lists(embedding: list[float] | None) -> None:
    record = _passage(embedding)
    params = record.params()
    assert params["embedding"] == embedding and params["heading_path"] == ["H"]
    plain = {k: (list(v) if isinstance(v, QuietVector) else v) for k, v in params.items()}
    assert _packed(params) == _packed(plain)
    # The repr the driver builds for its debug line stays short, whatever the vector's size.
    assert len(repr(params)) < 1_000


def test_quiet_vector_keeps_its_numbers() -> None:
    vector = quiet_vector([1.0, 2.0])
    assert vector == [1.0, 2.0] and repr(vector) == "<vector of 2>"
    assert quiet_vector(None) is None
