"""Every human-facing renderer speaks the report's language: `--lang zh` lays out why, check
and explain, as text and as Markdown (with its Mermaid diagram), in Chinese words taken from
knowledge/zh/report.yaml; English stays as it was."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

import diagnose
from diagnose.batch import CheckOptions, check_many, collect
from diagnose.cli import app
from diagnose.explain import explain, render_text
from diagnose.render import lint, markdown, mermaid

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
NAT = EXAMPLES / "vmware-nat-from-lan.yaml"
INCOMPLETE = EXAMPLES / "docker-incomplete-report.yaml"
CONFIGS = EXAMPLES / "configs"

runner = CliRunner()

# Layout words of the English renderers; none may show in a Chinese report.
ENGLISH_MARKDOWN = [
    "## Answer",
    "## Verdicts",
    "## Topology",
    "## Findings",
    "| hop |",
    "| status |",
    "not reached",
    "✅ pass",
    "❌ blocked",
    "changes configuration",
    "no lasting change",
    "To settle",
    "(why:",
    "Claims:",
    "  Fix:",
    ", claims ",
    "No findings",
]
ENGLISH_MERMAID = [
    '["LAN',
    '["host',
    '["VM ',
    "switch VMnet8",
    "NAT device of",
    "|host adapter|",
    "blocked here",
    "unknown here",
    "(asks ",
]
ENGLISH_TEXT = ["causes:", "path (", "fix:", "breaks here", "to settle what is unknown"]
ENGLISH_CHECK = ["file checked", "files checked", "suppressed", "no findings", "| where |"]
ENGLISH_EXPLAIN = ["(mode)", "(claim)", "(rule (", "source section:", "see:", "rules:", "fix:"]


def cli(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code in (0, 1), result.output
    return result.stdout


def absent(text: str, words: list[str]) -> list[str]:
    return [w for w in words if w in text]


def _bare(chart: str) -> list[str]:
    """A chart's lines without its labels and link texts."""
    return [re.sub(r'\["[^"]*"\]|\|[^|]*\|', "", line) for line in chart.splitlines()]


# ------------------------------------------------------------------------------ why


def test_why_markdown_in_chinese() -> None:
    text = cli("why", str(NAT), "--format", "markdown", "--lang", "zh")
    for heading in ("## 结论", "## 逐条诊断", "## 网络拓扑", "## 发现的问题"):
        assert f"\n{heading}\n" in "\n" + text
    assert "  解决：Windows 宿主机" in text
    assert "| # | 节点 | 状态 | 规则 | 依据 |" in text
    assert "| ❌ 不通 | VW008 |" in text and "| 未到达 |" in text and "✅ 通过" in text
    assert "（error，`VW008`，依据 N3, X40）" in text
    assert "_（会改动配置）_" in text and "_（不留下改动）_" in text
    assert "依据：N3, X40" in text
    assert not absent(text, ENGLISH_MARKDOWN + ENGLISH_MERMAID)


def test_why_markdown_asks_in_chinese() -> None:
    text = cli("why", str(INCOMPLETE), "--format", "markdown", "--lang", "zh")
    assert "  还需确认：" in text.split("\n## 逐条诊断\n")[0]
    assert "**还需要确认：**" in text and "_（为什么问：" in text
    assert "：这里有待确认（需要回答 " in text  # the note of the diagram
    assert not absent(text, ENGLISH_MARKDOWN + ENGLISH_MERMAID)


def test_why_text_in_chinese() -> None:
    text = cli("why", str(NAT), "--lang", "zh")
    assert "  路径 (PV010):" in text and "  原因:" in text and "解决: " in text
    assert not absent(text, ENGLISH_TEXT)


def test_english_layout_stays() -> None:
    text = cli("why", str(NAT), "--format", "markdown")
    for words in ("## Answer", "## Verdicts", "| # | hop | status | rule | claims |", "Claims: "):
        assert words in text
    assert "(error, `VW008`, claims N3, X40)" in text and "_(changes configuration)_" in text
    assert '    lan["LAN<br/>192.168.1.0/24"]' in text
    assert '    note_s1["s1: blocked here (VW008)"]' in text
    asked = cli("why", str(INCOMPLETE), "--format", "markdown")
    assert "**To settle what is unknown:**" in asked and "_(why: " in asked


# --------------------------------------------------------------------------- mermaid


def test_mermaid_labels_in_chinese() -> None:
    chart = mermaid.render(diagnose.why(NAT, lang="zh"))
    assert '    lan["局域网<br/>192.168.1.0/24"]' in chart
    assert '    host["宿主机（windows）<br/>Ethernet 192.168.1.20"]' in chart
    assert '    vm_devbox["虚拟机 devbox（vmware）"]' in chart
    assert '    sw_VMnet8["NAT 虚拟交换机 VMnet8<br/>192.168.80.0/24"]' in chart
    assert '    nat_VMnet8["VMnet8 的 NAT 设备"]' in chart
    assert '    note_s1["s1：在这里断开（VW008）"]' in chart
    assert "    host -.-|宿主机虚拟网卡| sw_VMnet8" in chart
    # the ids stay ASCII and the same as in English: only the labels change
    assert _bare(chart) == _bare(mermaid.render(diagnose.why(NAT)))


@pytest.mark.parametrize(
    ("name", "label"),
    [
        ("docker-published-port-loopback.yaml", '["网络 bridge（docker0）'),
        ("docker-published-port-loopback.yaml", '["容器 web'),
        ("docker-desktop-mac.yaml", '["Docker Desktop 虚拟机"]'),
        ("docker-host-mode.yaml", "|宿主机网络|"),
        ("docker-container-mode-sidecar.yaml", "|共享网络命名空间|"),
        ("virtualbox-nat-ssh.yaml", "的 NAT 引擎"),
        ("virtualbox-nat-ssh.yaml", "：不通（VB016）"),
        ("vmware-bridged-wrong-subnet.yaml", '["桥接虚拟交换机 VMnet0"]'),
        ("vmware-hostonly-no-internet.yaml", '["Host-Only 虚拟交换机 VMnet1'),
    ],
)
def test_mermaid_devices_in_chinese(name: str, label: str) -> None:
    chart = mermaid.render(diagnose.why(EXAMPLES / name, lang="zh"))
    assert label in chart
    assert not absent(chart, [*ENGLISH_MERMAID, '["network ', '["container ', "shares netns"])


# ------------------------------------------------------------------------------ check


def test_check_text_in_chinese() -> None:
    text = cli("check", str(CONFIGS), "--lang", "zh")
    assert text.splitlines()[-2] == "检查了 3 个文件: 4 error, 1 warning, 1 info; 1 条已忽略"
    full = cli("check", str(CONFIGS / "compose.yaml"), "--select", "DM013", "--lang", "zh")
    assert "    解决: " in full and "(会改动配置)" in full
    assert full.splitlines()[-1] == "检查了 1 个文件: 1 error"
    assert not absent(text + full, ENGLISH_CHECK + ENGLISH_TEXT)


def test_check_markdown_in_chinese() -> None:
    text = cli("check", str(NAT), "--format", "markdown", "--lang", "zh")
    assert text.startswith("## netwhy check\n\n检查了 1 个文件: ")
    assert "| 位置 | 级别 | 规则 | 问题 |" in text and "\n### 网络拓扑\n" in text
    assert "  解决：" in text  # the short answer of the setup's symptom
    assert not absent(text, ENGLISH_CHECK + ENGLISH_MARKDOWN + ENGLISH_MERMAID + ["### Topology"])


def test_check_english_layout_stays() -> None:
    text = cli("check", str(CONFIGS))
    assert text.splitlines()[-2] == "3 files checked: 4 error, 1 warning, 1 info; 1 suppressed"
    md = cli("check", str(NAT), "--format", "markdown")
    assert "| where | severity | rule | finding |" in md and "\n### Topology\n" in md


def test_lint_renderers_take_the_language_of_the_reports() -> None:
    options = CheckOptions(lang="zh")
    results = check_many(collect([str(NAT)], options), options)
    assert "检查了 1 个文件" in lint.render_text(results)
    assert "| 位置 | 级别 | 规则 | 问题 |" in lint.render_markdown(results)
    assert "1 file checked" in lint.render_text(results, lang="en")  # unless told otherwise
    assert lint.render_text([]).endswith("0 files checked: no findings\n")


# ---------------------------------------------------------------------------- explain


def test_explain_in_chinese() -> None:
    mode = cli("explain", "vmware:nat", "--lang", "zh")
    assert mode.splitlines()[1] == "(网络模式)"
    assert "      原文章节: NAT" in mode and "      原文: " in mode and "      参见: http" in mode
    assert "\n相关规则: VW003" in mode
    rule = cli("explain", "DP001", "--lang", "zh")
    assert rule.splitlines()[1] == "(规则 (finding), error)" and "\n解决: " in rule
    claim = cli("explain", "N3", "--lang", "zh")
    assert claim.splitlines()[1] == "(论断)"
    device = cli("explain", "nat-device", "--lang", "zh")
    assert device.splitlines()[1] == "(设备)"
    assert not absent(mode + rule + claim + device, ENGLISH_EXPLAIN)


def test_explain_carries_its_language() -> None:
    e = explain("vmware:nat", lang="zh")
    assert e.lang == "zh" and render_text(e).splitlines()[1] == "(网络模式)"
    en = explain("DP001")
    assert en.lang == "en" and render_text(en).splitlines()[1] == "(rule (finding), error)"
    assert "\nfix: " in render_text(en) and "source section: " in render_text(en)


# ---------------------------------------------------------------------------- report


def test_markdown_follows_the_report_not_a_default() -> None:
    report = diagnose.why(NAT, lang="zh")
    assert markdown.render(report).startswith("## 结论\n\n- ❌ **s1**")
    assert markdown.answer(report.verdicts[0], "zh")[1].startswith("  解决：")
    assert markdown.answer(report.verdicts[0])[1].startswith("  Fix: ")
    empty = diagnose.check({"host": {"os": "linux"}}, lang="zh")
    assert (
        markdown.render(empty) == "## 结论\n\n没有发现问题。\n\n## 发现的问题\n\n没有发现问题。\n"
    )
