"""Reports: the terminal block, the JSON report and the self-contained HTML page.

Framework-free like the rules: a saved report dir is re-rendered without torch.
"""

from nansentry.report.build import build_report, first_nonfinite
from nansentry.report.files import write_html, write_report_dir
from nansentry.report.html import render_html
from nansentry.report.terminal import render, summary_line

__all__ = ["build_report", "first_nonfinite", "render", "render_html", "summary_line", "write_html", "write_report_dir"]
