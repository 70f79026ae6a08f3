"""The page's inline stylesheet (system fonts, print-friendly, no external assets)."""

CSS = """
:root{--ink:#111827;--muted:#6b7280;--line:#e5e7eb;--bad:#d62839;--ok:#15803d;--bg:#f7f7f8;--card:#fff;--accent:#7c3aed}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:15px/1.5 -apple-system,BlinkMacSystemFont,"Segoe UI",
Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1180px;margin:0 auto;padding:28px 24px 40px}
header{margin-bottom:18px}
.brand{font-weight:700;letter-spacing:.04em;color:var(--muted);font-size:13px;text-transform:uppercase}
h1{font-size:26px;margin:4px 0 4px;font-weight:650}
h2{font-size:13px;text-transform:uppercase;letter-spacing:.06em;color:var(--muted);margin:0 0 12px}
h3{font-size:14px;margin:18px 0 6px}
.facts{color:var(--muted);margin:0}
.badge{display:inline-block;font-size:13px;font-weight:700;padding:3px 10px;border-radius:999px;
vertical-align:middle;margin-right:6px;color:#fff}
.badge.bad{background:var(--bad)}.badge.ok{background:var(--ok)}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:20px 22px;margin:0 0 16px;
box-shadow:0 1px 2px rgba(0,0,0,.04)}
.diag{border-left:5px solid var(--bad)}
.cause-line{display:flex;align-items:center;gap:12px;flex-wrap:wrap}
.cause{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-weight:600}
.cause.big{font-size:24px;color:var(--bad)}
.code-tag{font-size:12px;color:var(--muted);border:1px solid var(--line);border-radius:6px;padding:2px 8px}
.conf{display:flex;align-items:center;gap:10px;margin:10px 0 4px;color:var(--muted);font-size:13px}
.bar{width:180px;height:8px;border-radius:4px;background:var(--line);overflow:hidden}
.bar>div{height:100%;background:var(--accent)}
.summary{font-size:17px;margin:10px 0 4px}
ul.ev li{margin:3px 0}
ul.alts{list-style:none;padding:0;display:flex;gap:18px;flex-wrap:wrap;margin:0}
.muted{color:var(--muted)}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:13px}
code{background:#f3f4f6;border-radius:4px;padding:1px 5px}
pre.src{background:#111827;color:#f9fafb;border-radius:8px;padding:12px 14px;overflow-x:auto;margin:12px 0}
pre.src .ln{color:#9ca3af;margin-right:14px;user-select:none}
table{border-collapse:collapse}
table.kv th{text-align:left;color:var(--muted);font-weight:500;padding:3px 18px 3px 0;vertical-align:top}
table.kv td{padding:3px 0;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:13px;
word-break:break-all}
table.stats,table.list{width:100%;font-size:13px}
table.stats th,table.stats td,table.list th,table.list td{border-bottom:1px solid var(--line);padding:5px 8px;
text-align:right}
table.stats th:first-child,table.stats td:first-child,table.list td:last-child,table.list th:last-child{text-align:left}
table.list td:nth-child(2),table.list th:nth-child(2){text-align:left}
td.hot{color:var(--bad);font-weight:700}
.scroll{overflow-x:auto}
.samples{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.fixes ol{margin:0;padding-left:22px}.fixes li{margin:6px 0}
.grid2{display:grid;grid-template-columns:1fr 1fr;gap:8px 20px;margin-bottom:10px}
@media (max-width:900px){.grid2{grid-template-columns:1fr}}
svg.chart{display:block;font-family:inherit}
svg .ct{font-size:13px;font-weight:600;fill:#374151}
svg .tk{font-size:11px;fill:#6b7280}
svg .nf{font-size:14px;fill:#d62839;font-weight:700}
svg .fl{font-size:11px;fill:#d62839;font-weight:600}
footer{color:var(--muted);font-size:12px;margin-top:22px}
@media print{body{background:#fff}.card{box-shadow:none;break-inside:avoid}}
"""
