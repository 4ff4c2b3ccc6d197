"""``meetbot report`` over a stored meeting: the coordinator's report names people as Matrix
does; ``--pseudonymous`` writes one to share, apart, that names nobody."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from shell_helpers import ANA, BEA, CARLOS, config_file, hold_meeting, open_bound

from meetbot.cli.main import main
from meetbot.config.schema import Config
from meetbot.research.outputs import regenerate_after_removal
from meetbot.research.pseudonyms import Pseudonyms


@pytest.fixture
def config(tmp_path: Path) -> Config:
    config = config_file(tmp_path, coordinator=True)
    asyncio.run(hold_meeting(config))
    return config


def _report(config: Config, *flags: str) -> list[Path]:
    assert main(["report", "--config", str(config.source), *flags]) == 0
    return sorted(config.data_path.glob("reports*/report.*"))


def test_the_coordinators_report_names_people_as_matrix_does(
    config: Config, capsys: pytest.CaptureFixture[str]
) -> None:
    _report(config)
    folder = config.data_path / "reports"
    assert capsys.readouterr().out.split() == [str(folder / f"report.{f}")
                                               for f in ("html", "md", "json")]
    page = (folder / "report.html").read_text(encoding="utf-8")
    assert "Beatriz" in page and "Carlos asks the council" in page and CARLOS not in page
    assert "keep this report within the coordination team" in page
    assert json.loads((folder / "report.json").read_text())["pseudonymous"] is False


def test_a_pseudonymous_report_names_nobody_and_is_kept_apart(
    config: Config, capsys: pytest.CaptureFixture[str]
) -> None:
    _report(config, "--pseudonymous")
    folder = config.data_path / "reports-pseudonymous"
    assert capsys.readouterr().out.split() == [str(folder / f"report.{f}")
                                               for f in ("html", "md", "json")]
    assert not (config.data_path / "reports").exists()
    pseudonyms = Pseudonyms.load(config.data_path)  # the exports' secret: the same names
    for path in folder.iterdir():
        text = path.read_text(encoding="utf-8")
        for who in ("Ana", "Beatriz", "Carlos", ANA, BEA, CARLOS, "example.org"):
            assert who not in text, (path.name, who)
        if path.suffix == ".md":  # Markdown escapes the hyphen
            text = text.replace("\\-", "-")
        assert pseudonyms.of(BEA) in text and pseudonyms.of(CARLOS) in text
    report = json.loads((folder / "report.json").read_text())
    assert report["pseudonymous"] is True
    (action,) = report["open_actions"]
    assert set(action["owners"]) == {pseudonyms.of(CARLOS), pseudonyms.of(BEA)}
    assert action["text"] == f"{pseudonyms.of(CARLOS)} asks the council, with {pseudonyms.of(BEA)}"
    assert "People are named by pseudonyms" in (folder / "report.md").read_text()


def test_the_pseudonymous_report_is_rewritten_after_a_withdrawal(config: Config) -> None:
    _report(config, "--pseudonymous", "--format", "json")
    written = config.data_path / "reports-pseudonymous" / "report.json"
    written.write_text("{}")

    async def regenerate() -> None:
        app = await open_bound(config)
        try:
            await regenerate_after_removal(app, set())
        finally:
            await app.store.db.close()

    asyncio.run(regenerate())
    assert json.loads(written.read_text())["pseudonymous"] is True
