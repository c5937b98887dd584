"""`routines edge` fills in deploy/nginx.conf's two placeholders and runs nginx in the
foreground under a prefix of its own, so it needs no root and no /var paths."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from launcher import cli, edge

TEMPLATE = Path(__file__).resolve().parents[2] / "deploy" / "nginx.conf"


def test_render_fills_listen_and_upstream_and_keeps_nginx_variables() -> None:
    config = edge.render(TEMPLATE.read_text(), listen="127.0.0.1:3100", upstream="127.0.0.1:3101")
    assert "listen 127.0.0.1:3100;" in config
    assert "server 127.0.0.1:3101;" in config
    assert "${" not in config
    assert "$proxy_add_x_forwarded_for" in config


def test_render_refuses_a_template_without_its_placeholders() -> None:
    with pytest.raises(edge.EdgeError, match="ROUTINES_EDGE_UPSTREAM"):
        edge.render("listen ${ROUTINES_EDGE_LISTEN};", listen="a", upstream="b")


def test_edge_execs_nginx_in_the_foreground_under_its_prefix(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen: dict[str, Any] = {}
    monkeypatch.setattr(edge.shutil, "which", lambda *_a, **_k: "/usr/sbin/nginx")
    monkeypatch.setattr(cli.os, "execvp", lambda file, argv: seen.update(file=file, argv=argv))
    prefix = tmp_path / "edge"
    args = cli._parser().parse_args(
        ["edge", "--config", str(TEMPLATE), "--prefix", str(prefix), "--upstream", "127.0.0.1:9"]
    )
    args.handler(args)
    assert seen["argv"] == [
        "/usr/sbin/nginx",
        "-e",
        "stderr",
        "-c",
        str((prefix / "nginx.conf").resolve()),
        "-p",
        f"{prefix.resolve()}/",
        "-g",
        "daemon off;",
    ]
    assert "server 127.0.0.1:9;" in (prefix / "nginx.conf").read_text()
    assert (prefix / "temp" / "client_body").is_dir()


def test_edge_without_nginx_exits_2_with_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(edge.shutil, "which", lambda *_a, **_k: None)
    args = cli._parser().parse_args(["edge", "--config", str(TEMPLATE), "--prefix", str(tmp_path)])
    with pytest.raises(SystemExit) as exited:
        args.handler(args)
    assert exited.value.code == 2
    assert capsys.readouterr().err == (
        "routines edge: nginx is not installed (Debian: apt-get install nginx)\n"
    )
