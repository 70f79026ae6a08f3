"""The step trace: an in-memory ring buffer and its JSONL file, and saved report dirs."""

from nansentry.trace.ring import Trace
from nansentry.trace.store import ReportDir, load_report_dir, save_report_dir

__all__ = ["ReportDir", "Trace", "load_report_dir", "save_report_dir"]
