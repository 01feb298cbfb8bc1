"""Every code of the exchange format has a label people can read."""

from __future__ import annotations

from petdx.data_dictionary import CODE_LABELS, TABLES, code_label


def test_every_allowed_code_reads_as_words() -> None:
    for table in TABLES.values():
        for f in table.fields:
            for code in f.allowed or ():
                label = code_label(code)
                assert label, (table.name, f.name, code)
                assert "_" not in label, (table.name, f.name, code, label)
                assert label[0] == label[0].upper(), (table.name, f.name, code, label)


def test_labels_of_acronyms_and_the_plain_rule() -> None:
    assert code_label("breast_tnbc") == CODE_LABELS["breast_tnbc"]
    assert code_label("mediastinal_node") == "Mediastinal node"
    assert code_label("PET/CT") == "PET/CT"
    assert code_label("F") == "Female"
