"""The parameter documentation (config/fer.yaml, the tables in docs/node.md and the README)
is what `python -m fer_ros.ros.params_doc --write` generates from the one parameter table."""
from __future__ import annotations

import shutil

import yaml

from fer_ros.ros import params, params_doc
from fer_ros.ros.params_doc import BEGIN, COMMAND, END, TABLE_FILES, YAML_FILE


def test_generated_files_are_current():
    stale = params_doc.stale_files()
    assert not stale, f"stale parameter docs {[str(p) for p in stale]}: run {COMMAND}"
    assert (params_doc.REPO / "docs/node.md").read_text().count(BEGIN) == 1, \
        "docs/node.md must hold the generated parameter table"


def test_yaml_holds_every_parameter_default():
    tree = yaml.safe_load((params_doc.REPO / YAML_FILE).read_text())["/**"]["ros__parameters"]

    def flat(node, prefix=""):
        for key, value in node.items():
            if isinstance(value, dict):
                yield from flat(value, f"{prefix}{key}.")
            else:
                yield f"{prefix}{key}", value
    assert dict(flat(tree)) == {s.name: s.default for s in params.PARAMETERS}


def test_table_lists_every_parameter_and_choice():
    table = params_doc.markdown_table()
    for spec in params.PARAMETERS:
        row = next((line for line in table.splitlines() if f"`{spec.name}`" in line), None)
        assert row is not None, f"{spec.name} missing from the generated table"
        for choice in spec.choices or ():
            assert choice in row, f"{spec.name}: choice {choice} missing from the table"


def test_check_finds_a_hand_edited_table_and_write_repairs_it(tmp_path):
    for relative in (YAML_FILE, *TABLE_FILES):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(params_doc.REPO / relative, tmp_path / relative)
    node_md = tmp_path / "docs/node.md"
    text = node_md.read_text()
    node_md.write_text(text.replace("yunet, yunet_opencv, haar", "yunet, haar"))
    assert params_doc.main(["--check", "--root", str(tmp_path)]) == 1
    assert params_doc.main(["--write", "--root", str(tmp_path)]) == 0
    assert params_doc.main(["--check", "--root", str(tmp_path)]) == 0
    assert node_md.read_text() == text and END in text
